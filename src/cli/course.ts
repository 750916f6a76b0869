/**
 * The course's commands: `shadergrad exercises` lists the exercises, `shadergrad exercise ID`
 * copies one's starter and question into the current folder, and `shadergrad check ID [FILE]`
 * grades the student's kernel (src/course/grade.ts), backprop module or run folders, and exits 0
 * when every check passes, 1 when one fails. The starters and questions ship in the package's
 * course/ folder.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { ShadergradError } from '../base/errors';
import { readFileCapped } from '../base/filesNode';
import { initDevice, type Gpu } from '../core';
import { exerciseFolder, exercises } from '../course/exercises/index';
import type { Exercise } from '../course/exercise';
import { CASE_TIMEOUT_MS, gradeKernel, type Grade } from '../course/grade';
import { formatGrade, formatSummary, gradeJson } from '../course/report';
import { gradeSeedExperiment, seedExperiment } from '../course/seedExperiment';
import { gradeXorBackprop, xorBackprop } from '../course/xorBackprop';
import { readRunFolders } from './courseRuns';
import { bad, clip, parseFlags, positiveArg, type FlagValues, type ParsedFlag } from './flagValues';

/** The package's course/ folder: src/cli and lib/cli both sit two folders below the root. */
const COURSE = fileURLToPath(new URL('../../course/', import.meta.url));

export const COURSE_COMMANDS = ['exercises', 'exercise', 'check'] as const;
export type CourseCommand = (typeof COURSE_COMMANDS)[number];

export function courseCommand(
  argv: readonly string[],
): { command: CourseCommand; rest: string[] } | undefined {
  const [first, ...rest] = argv;
  const command = COURSE_COMMANDS.find((c) => c === first);
  return command ? { command, rest } : undefined;
}

export function courseUsage(): string {
  return [
    'shadergrad exercises            list the course exercises',
    "shadergrad exercise ID [--dir D] copy exercise ID's starter (ID.wgsl) and question (ID.md) into D (default: here)",
    'shadergrad check ID [FILE]       grade FILE (default ID.wgsl, ID.mjs, or for seed-experiment the runs folder):',
    '                                 compile, bindings, results against the CPU twin on awkward shapes,',
    "                                 out-of-bounds writes, races, and speed against the library's kernel;",
    '                                 exit 0 on pass, 1 on fail',
    'shadergrad check all [DIR]       grade every exercise handed in in DIR (default: here), then a summary',
    '  --no-speed                     skip the timing',
    '  --json                         print the findings as JSON (for grading scripts)',
    `  --timeout S                    seconds one case may run before it counts as a loop that never ends (default ${CASE_TIMEOUT_MS / 1000})`,
  ].join('\n');
}

/**
 * An exercise or lab as the commands see it: where its files are and what the student hands in,
 * a WGSL kernel, a JavaScript module, or (the seed experiment) a folder of training runs.
 */
interface CourseItem {
  id: string;
  title: string;
  folder: string;
  /** The starter copied beside the question; none for the seed experiment (the CLI is its tool). */
  starter?: string;
  /** What `check` reads by default: <id>.wgsl, <id>.mjs, or the runs folder. */
  handIn: string;
  exercise?: Exercise;
}

function courseItems(): CourseItem[] {
  const kernels = exercises.map((e): CourseItem => ({
    id: e.id,
    title: e.title,
    folder: exerciseFolder(e),
    starter: 'starter.wgsl',
    handIn: `${e.id}.wgsl`,
    exercise: e,
  }));
  const numbered = (n: number, id: string) => `${String(n).padStart(2, '0')}-${id}`;
  const backprop: CourseItem = {
    ...xorBackprop,
    folder: numbered(kernels.length + 1, xorBackprop.id),
    starter: 'starter.mjs',
    handIn: `${xorBackprop.id}.mjs`,
  };
  const seed: CourseItem = {
    ...seedExperiment,
    folder: numbered(kernels.length + 2, seedExperiment.id),
    handIn: 'runs',
  };
  return [...kernels, backprop, seed];
}

function itemOrThrow(id: string | undefined, command: string): CourseItem {
  const items = courseItems();
  const list = items.map((e) => e.id).join(', ');
  if (id === undefined || id.startsWith('-'))
    throw new ShadergradError(`${command} needs an exercise name: one of ${list}`);
  const item = items.find((e) => e.id === id);
  if (!item)
    throw new ShadergradError(`${command}: no exercise named "${id}"; the exercises are ${list}`);
  return item;
}

function listExercises(): void {
  courseItems().forEach((e, i) =>
    console.log(`${String(i + 1).padStart(2)}. ${e.id.padEnd(22)} ${e.title}`),
  );
  console.log('\nStart one with `shadergrad exercise ID`, grade it with `shadergrad check ID`.');
}

/** Copies the starter and the question; refuses to overwrite a student's work. */
async function startExercise(rest: readonly string[]): Promise<void> {
  const { positional, flags } = splitArgs('exercise', rest, { dir: { value: 'DIR' } });
  const item = itemOrThrow(positional[0], 'exercise');
  const dir = resolve(flags.dir ?? '.');
  const folder = join(COURSE, item.folder);
  const yours = join(dir, item.handIn);
  const question = join(dir, `${item.id}.md`);
  const copies = [
    ...(item.starter ? [{ from: join(folder, item.starter), to: yours }] : []),
    { from: join(folder, 'README.md'), to: question },
  ];
  for (const { to } of copies)
    if (existsSync(to))
      throw new ShadergradError(
        `${to} exists; not overwriting your work (move it, or check it with \`shadergrad check ${item.id}\`)`,
      );
  for (const { from, to } of copies) await writeFile(to, await readFile(from));
  console.log(`Exercise ${item.id}: ${item.title}`);
  console.log(`  the question: ${question}`);
  if (item.starter) console.log(`  your ${item.exercise ? 'kernel' : 'code'}:  ${yours}`);
  console.log(`Grade it with: npx shadergrad check ${item.id}`);
}

/** A student's file is source text: at most 1 MiB, a regular file (not a FIFO or a device). */
const MAX_SOURCE_BYTES = 1 << 20;

async function readSource(file: string): Promise<string> {
  const bytes = await readFileCapped(file, MAX_SOURCE_BYTES);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ShadergradError(`${file}: not UTF-8 text (is it the right file?)`);
  }
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ShadergradError(`${file}: cannot load it as a JavaScript module (${reason})`);
  }
}

/** One device for every kernel a command grades, made on first use. */
class LazyGpu {
  private gpu: Promise<Gpu> | undefined;
  get(): Promise<Gpu> {
    this.gpu ??= initDevice();
    return this.gpu;
  }
  async destroy(): Promise<void> {
    if (this.gpu) (await this.gpu).destroy();
  }
}

async function gradeFile(
  item: CourseItem,
  file: string,
  gpu: LazyGpu,
  o: CheckOptions,
): Promise<Grade> {
  if (item.id === seedExperiment.id) return checkRuns(file);
  // Read first even for a module: the read refuses what import() would hang on (a FIFO).
  const code = await readSource(file);
  if (!item.exercise) return gradeXorBackprop(await importModule(file), file);
  return gradeKernel(await gpu.get(), item.exercise, file, code, {
    skipSpeed: o.skipSpeed,
    timeoutMs: o.timeoutMs,
  });
}

async function checkRuns(dir: string): Promise<Grade> {
  const { runs, problems } = await readRunFolders(dir);
  const grade = gradeSeedExperiment(runs, dir);
  const unreadable = problems.map((message) => ({
    check: 'bindings' as const,
    ok: false,
    message,
  }));
  return {
    ...grade,
    findings: [...unreadable, ...grade.findings],
    passed: grade.passed && problems.length === 0,
  };
}

interface CheckOptions {
  skipSpeed: boolean;
  json: boolean;
  timeoutMs: number;
}

async function checkOne(item: CourseItem, file: string, o: CheckOptions): Promise<number> {
  if (!existsSync(file))
    throw new ShadergradError(
      `check ${item.id}: ${file} not found (start the exercise with \`shadergrad exercise ${item.id}\`)`,
    );
  const gpu = new LazyGpu();
  const grade = await gradeFile(item, file, gpu, o).catch(async (e: unknown) => {
    await gpu.destroy();
    throw e;
  });
  console.log(o.json ? JSON.stringify(gradeJson(grade), null, 2) : formatGrade(grade));
  // A device still running a kernel that does not end would hold destroy(); exiting ends it.
  if (!grade.gpuHung) await gpu.destroy();
  return grade.passed ? 0 : 1;
}

/**
 * `check all [DIR]`: grades every exercise whose hand-in is in DIR (a student's folder, for a
 * teacher), one device for all, then a summary; exit 0 when at least one was handed in and every
 * one handed in passed.
 */
async function checkAll(dir: string, o: CheckOptions): Promise<number> {
  const gpu = new LazyGpu();
  const graded: Grade[] = [];
  const missing: string[] = [];
  try {
    for (const item of courseItems()) {
      const file = join(dir, item.handIn);
      if (!existsSync(file)) {
        missing.push(item.handIn);
        continue;
      }
      const grade = await gradeFile(item, file, gpu, o).catch((e: unknown) =>
        failedGrade(item, file, e),
      );
      graded.push(grade);
      if (!o.json) console.log(`${formatGrade(grade)}\n`);
      // The device is still running a kernel that does not end: the rest would queue behind it.
      if (grade.gpuHung) break;
    }
  } finally {
    if (!graded.some((g) => g.gpuHung)) await gpu.destroy();
  }
  if (o.json) console.log(JSON.stringify({ dir, graded: graded.map(gradeJson), missing }, null, 2));
  else console.log(formatSummary(dir, graded, missing));
  return graded.length > 0 && graded.every((g) => g.passed) ? 0 : 1;
}

/** A hand-in the grader could not even read (a FIFO, bad UTF-8): one failed finding, so the others still run. */
function failedGrade(item: CourseItem, file: string, e: unknown): Grade {
  const message = e instanceof Error ? e.message : String(e);
  return {
    exercise: item,
    file,
    passed: false,
    findings: [{ check: 'compile', ok: false, message }],
  };
}

/** The flags `check` takes; `--no-speed` and `--json` are switches. */
const CHECK_FLAGS = { 'no-speed': { value: '' }, json: { value: '' }, timeout: { value: 'S' } };

/**
 * Leading words (the exercise, the file), then flags read by parseFlags, so an unknown or
 * misspelt flag is refused, never ignored.
 */
function splitArgs(
  command: string,
  rest: readonly string[],
  known: Readonly<Record<string, ParsedFlag>>,
): { positional: string[]; flags: FlagValues } {
  const firstFlag = rest.findIndex((a) => a.startsWith('-'));
  const cut = firstFlag < 0 ? rest.length : firstFlag;
  const positional = rest.slice(0, cut);
  if (positional.length > 2)
    throw new ShadergradError(`${command}: unexpected '${clip(positional[2] ?? '')}' (see --help)`);
  return { positional, flags: parseFlags(command, rest.slice(cut), known) };
}

/** `--timeout S`: seconds, a number above 0 (at most an hour). */
function timeoutOf(raw: string | undefined): number {
  if (raw === undefined) return CASE_TIMEOUT_MS;
  const seconds = positiveArg('--timeout', raw);
  if (seconds > 3600) bad('--timeout', 'seconds, a number above 0 and at most 3600', raw);
  return seconds * 1000;
}

async function checkExercise(rest: readonly string[]): Promise<number> {
  const { positional, flags } = splitArgs('check', rest, CHECK_FLAGS);
  const o: CheckOptions = {
    skipSpeed: flags['no-speed'] !== undefined,
    json: flags.json !== undefined,
    timeoutMs: timeoutOf(flags.timeout),
  };
  const [id, file] = positional;
  if (id === 'all') return checkAll(file ?? '.', o);
  const item = itemOrThrow(id, 'check');
  return checkOne(item, file ?? item.handIn, o);
}

/** Runs a course command; resolves to the exit status. */
export async function runCourseCommand(
  command: CourseCommand,
  rest: readonly string[],
): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(courseUsage());
    return 0;
  }
  if (command === 'exercises') listExercises();
  else if (command === 'exercise') await startExercise(rest);
  else return checkExercise(rest);
  return 0;
}
