/**
 * The autograder's verdict as text: passed checks summarized in one line each, every failure in
 * full, the speed against the library's kernel, and a last line that says pass or fail.
 */
import type { CheckName, Finding, Grade } from './grade';

const TITLES: Record<CheckName, string> = {
  compile: 'compiles',
  bindings: 'bindings',
  result: 'matches the reference',
  bounds: 'writes only inside its outputs',
  races: 'race detector',
  speed: 'speed',
  time: 'finishes',
};

const ORDER: readonly CheckName[] = ['compile', 'bindings', 'time', 'result', 'bounds', 'races'];

function indent(text: string): string {
  return text.replaceAll('\n', '\n    ');
}

function checkLines(check: CheckName, findings: readonly Finding[], reference: string): string[] {
  if (findings.length === 0) return [];
  const failed = findings.filter((f) => !f.ok);
  if (failed.length === 0) {
    const cases = findings.length > 1 ? ` (${findings.length} cases)` : '';
    const only = findings.length === 1 && findings[0] ? findings[0].message : TITLES[check];
    const title = check === 'result' ? `matches ${reference}` : TITLES[check];
    return [`  ✓ ${findings.length > 1 ? title : only}${cases}`];
  }
  return failed.map((f) => `  ✗ ${indent(f.message)}`);
}

export function formatGrade(grade: Grade): string {
  const { exercise, file } = grade;
  const lines = [`${exercise.id}: ${exercise.title} — checking ${file}`];
  for (const check of ORDER)
    lines.push(
      ...checkLines(
        check,
        grade.findings.filter((f) => f.check === check),
        grade.reference ?? 'the CPU twin',
      ),
    );
  if (grade.details) lines.push(grade.details);
  if (grade.speed) {
    const { yoursMs, libraryMs, throughput, unit } = grade.speed;
    lines.push(
      `  speed: ${yoursMs.toFixed(3)} ms (${throughput.toFixed(1)} ${unit}); the library's kernel ${libraryMs.toFixed(3)} ms: yours runs at ${(libraryMs / yoursMs).toFixed(2)}x its speed (medians of 7)`,
    );
  }
  lines.push(
    grade.passed
      ? `PASS: ${file} does what exercise ${exercise.id} asks.`
      : `FAIL: ${grade.findings.filter((f) => !f.ok).length} check(s) failed; fix the first one first.`,
  );
  return lines.join('\n');
}

/** The grade as plain data for `--json`: what a grading script reads. */
export function gradeJson(grade: Grade): object {
  const { exercise, file, passed, findings, speed, details } = grade;
  return { exercise: exercise.id, title: exercise.title, file, passed, findings, speed, details };
}

/** The last lines of `check all`: one line per exercise, then the count. */
export function formatSummary(
  dir: string,
  graded: readonly Grade[],
  missing: readonly string[],
): string {
  const lines = graded.map((g) => {
    const failed = g.findings.filter((f) => !f.ok).length;
    const verdict = g.passed ? 'PASS' : `FAIL (${failed} check${failed === 1 ? '' : 's'})`;
    const speed = g.speed
      ? `  ${(g.speed.libraryMs / g.speed.yoursMs).toFixed(2)}x the library's speed`
      : '';
    return `  ${g.exercise.id.padEnd(22)} ${verdict}${speed}`;
  });
  const passed = graded.filter((g) => g.passed).length;
  const notIn = missing.length > 0 ? `; not handed in: ${missing.join(', ')}` : '';
  return [
    `summary of ${dir}:`,
    ...lines,
    `passed ${passed} of ${graded.length} handed in${notIn}`,
  ].join('\n');
}
