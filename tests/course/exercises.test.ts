/**
 * The course cannot rot: every exercise's reference solution passes every check of the
 * autograder, and its starter file compiles and binds correctly but fails on results (it is a
 * skeleton with the work left out), so the track stays doable and its grader stays honest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradeKernel } from '../../src/course/grade';
import { exerciseFolder, exercises } from '../../src/course/exercises/index';
import type { Exercise } from '../../src/course/exercise';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();
const courseFile = (folder: string, file: string) =>
  readFileSync(join(import.meta.dirname, '../../course', folder, file), 'utf8');

describe.each(exercises.map((e) => [e.id, e] as const))('exercise %s', (_id, exercise) => {
  it('the reference solution passes every check', async () => {
    const code = courseFile(exerciseFolder(exercise), 'solution.wgsl');
    const grade = await gradeKernel(gpu(), exercise, 'solution.wgsl', code, { skipSpeed: true });
    expect(grade.findings.filter((f) => !f.ok).map((f) => f.message)).toEqual([]);
    expect(grade.passed).toBe(true);
    expect(grade.findings.filter((f) => f.check === 'result').length).toBe(exercise.cases().length);
  });

  it('the starter compiles, and fails', async () => {
    const code = courseFile(exerciseFolder(exercise), 'starter.wgsl');
    const grade = await gradeKernel(gpu(), exercise, 'starter.wgsl', code, { skipSpeed: true });
    const failed = new Set(grade.findings.filter((f) => !f.ok).map((f) => f.check));
    expect(failed.has('compile')).toBe(false);
    expect(failed.has('bindings') || failed.has('result')).toBe(true);
    expect(grade.passed).toBe(false);
  });
});

/** A reference solution with one edit: the bug a student is likely to make. */
function broken(id: string, from: string, to: string): { exercise: Exercise; code: string } {
  const exercise = exercises.find((e) => e.id === id);
  if (!exercise) throw new Error(`no exercise ${id}`);
  const code = courseFile(exerciseFolder(exercise), 'solution.wgsl');
  expect(code).toContain(from);
  return { exercise, code: code.replace(from, to) };
}

describe('the grader catches the usual bugs, each with the right check', () => {
  it.each([
    ['relu', 'if (i < params.count)', 'if (i <= params.count)', 'bounds'],
    ['matmul', 'b[k * params.N + n]', 'b[k * params.K + n]', 'result'],
    ['sum', 'workgroupBarrier(); // every', '// every', 'races'],
    ['matmul-tiled', 'workgroupBarrier(); // everyone', '// everyone', 'races'],
    ['sum', 'x[i]', 'x[i] + x[i + 1u]', 'result'],
    ['adam', 'let mHat = mNew / (1.0 - pow(params.beta1, t));', 'let mHat = mNew;', 'result'],
    ['softmax-cross-entropy', 'var largest = logits[base];', 'var largest = 0.0;', 'result'],
    ['im2col', 'i32(oh * p.stride + kh) - i32(p.pad)', 'i32(oh * p.stride + kh)', 'result'],
    [
      'maxpool-backward',
      'let ohLast = min(h / p.stride, p.OH - 1u);',
      'let ohLast = ohFirst;',
      'result',
    ],
  ] as const)('%s with "%s" -> "%s" fails %s', async (id, from, to, check) => {
    const { exercise, code } = broken(id, from, to);
    const grade = await gradeKernel(gpu(), exercise, 'broken.wgsl', code, { skipSpeed: true });
    expect(grade.passed).toBe(false);
    expect(grade.findings.filter((f) => !f.ok).map((f) => f.check)).toContain(check);
  });

  it('a compile error names file:line:col', async () => {
    const { exercise, code } = broken('relu', 'max(x[i], 0.0)', 'max(x[i], 0u)');
    const grade = await gradeKernel(gpu(), exercise, 'relu.wgsl', code, { skipSpeed: true });
    const [finding] = grade.findings;
    expect(finding?.check).toBe('compile');
    expect(finding?.ok).toBe(false);
    expect(finding?.message).toMatch(/relu\.wgsl:\d+:\d+ /);
  });

  it('a wrong binding access is named before anything runs', async () => {
    const { exercise, code } = broken('relu', 'var<storage, read> x', 'var<storage, read_write> x');
    const grade = await gradeKernel(gpu(), exercise, 'relu.wgsl', code, { skipSpeed: true });
    const failed = grade.findings.filter((f) => !f.ok);
    expect(failed.map((f) => f.check)).toEqual(['bindings']);
    expect(failed[0]?.message).toContain('@binding(0) x is var<storage, read_write>');
  });
});
