/**
 * The autograder: runs a student's WGSL kernel through every check of an exercise and says what
 * it found, one finding per check, in the student's terms. The checks, in order:
 * 1. it compiles (file:line:col messages), and binds what the exercise binds;
 * 2. on each case (awkward shapes), every output matches the library's CPU twin within the
 *    case's tolerance, and no write lands outside an output (sentinel guards around each);
 * 3. the race detector (wgsl_reflect's interpreter) finds no unsynchronized access to workgroup
 *    or storage memory on a small case;
 * 4. once correct, it is timed against the library's kernel on a larger case.
 */
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { compareClose, describeCloseness, type Tolerance } from '../base/compare';
import type { Gpu } from '../gpu/device';
import { runCalls, type KernelCall } from '../gpu/dispatch';
import { guardedTensor, type GuardedTensor } from '../gpu/guard';
import { readTensor } from '../gpu/buffers';
import type { ShaderSource } from '../gpu/pipelines';
import { timeCalls } from '../gpu/timing';
import { bindingProblems, compileErrors } from './contract';
import type { Exercise, ExerciseCase } from './exercise';

export type CheckName = 'compile' | 'bindings' | 'result' | 'bounds' | 'races' | 'speed' | 'time';

/** The check of a case that did not finish in CASE_TIMEOUT_MS. */
const HUNG: CheckName = 'time';

export interface Finding {
  check: CheckName;
  ok: boolean;
  message: string;
}

export interface SpeedComparison {
  yoursMs: number;
  libraryMs: number;
  /** Throughput of the student's kernel in the exercise's unit. */
  throughput: number;
  unit: string;
}

export interface Grade {
  exercise: Pick<Exercise, 'id' | 'title'>;
  file: string;
  /** Printed after the findings (e.g. a lab's table of results). */
  details?: string;
  /** What results were compared with, when not the library's CPU twin (e.g. autodiff). */
  reference?: string;
  /**
   * A kernel never finished: the device is still running it, so the caller should not wait on it
   * again (destroying it waits too); a command line just exits.
   */
  gpuHung?: boolean;
  /** True when every check that ran passed (speed is reported, never failed). */
  passed: boolean;
  findings: Finding[];
  speed?: SpeedComparison;
}

/** How long one case may run, by default, before the grader calls it an endless loop. */
export const CASE_TIMEOUT_MS = 30_000;
const EXACT: Tolerance = { atol: 0, rtol: 0 };

export interface GradeOptions {
  /** Skip the timing (tests, quick checks). */
  skipSpeed?: boolean;
  /** How long one case may run (default CASE_TIMEOUT_MS). */
  timeoutMs?: number;
}

export async function gradeKernel(
  gpu: Gpu,
  exercise: Exercise,
  file: string,
  code: string,
  options: GradeOptions = {},
): Promise<Grade> {
  const shader: ShaderSource = { name: file, code, prefixLines: 0 };
  const findings: Finding[] = [];
  const grade = (): Grade => ({
    exercise,
    file,
    findings,
    passed: findings.every((f) => f.ok),
  });
  const errors = await compileErrors(gpu, shader);
  findings.push(compileFinding(errors));
  if (errors.length > 0) return grade();
  const cases = exercise.cases();
  const [first] = cases;
  if (!first) throw new Error(`exercise ${exercise.id} has no cases`);
  const problems = bindingProblems(shader, exercise.entryPoint, first);
  findings.push(bindingsFinding(problems));
  if (problems.length > 0) return grade();
  for (const c of cases) {
    findings.push(...(await runCase(gpu, shader, exercise.entryPoint, c, options.timeoutMs)));
    // Later cases would only queue behind a kernel that does not end.
    if (findings.some((f) => f.check === HUNG)) return { ...grade(), gpuHung: true };
  }
  if (exercise.raceCase)
    findings.push(raceFinding(shader, exercise.entryPoint, exercise.raceCase()));
  const result = grade();
  if (result.passed && exercise.timing && !options.skipSpeed) {
    result.speed = await compareSpeed(gpu, shader, exercise);
  }
  return result;
}

function compileFinding(errors: readonly string[]): Finding {
  return errors.length === 0
    ? { check: 'compile', ok: true, message: 'compiles' }
    : { check: 'compile', ok: false, message: `does not compile:\n${errors.join('\n')}` };
}

function bindingsFinding(problems: readonly string[]): Finding {
  return problems.length === 0
    ? { check: 'bindings', ok: true, message: 'binds the buffers the exercise gives it' }
    : { check: 'bindings', ok: false, message: `bindings:\n${problems.join('\n')}` };
}

function studentCall(
  shader: ShaderSource,
  entryPoint: string,
  c: ExerciseCase,
  tensors: GuardedTensor[],
): KernelCall {
  return {
    label: `${shader.name}.${entryPoint} ${c.label}`,
    shader,
    entryPoint,
    constants: c.constants,
    tensors: tensors.map((t) => t.tensor),
    params: c.params,
    workgroups: c.workgroups,
  };
}

/** Runs one case; one finding for the outputs' values and one for stray writes. */
async function runCase(
  gpu: Gpu,
  shader: ShaderSource,
  entryPoint: string,
  c: ExerciseCase,
  timeoutMs = CASE_TIMEOUT_MS,
): Promise<Finding[]> {
  const tensors = c.buffers.map((b) =>
    guardedTensor(gpu, [b.data.length], b.dtype, b.role === 'write' ? {} : { initial: b.data }),
  );
  try {
    gpu.device.pushErrorScope('validation');
    await runCalls(gpu, [studentCall(shader, entryPoint, c, tensors)]);
    // The error scope too resolves only once the queue gets to it: both wait on the same clock.
    const scope = gpu.device.popErrorScope();
    const work = Promise.all([scope, gpu.device.queue.onSubmittedWorkDone()]);
    if (!(await withTimeout(work, timeoutMs))) {
      const message = `${c.label}: the kernel did not finish in ${timeoutMs / 1000} s (a loop that never ends?); grading stopped, the GPU is still busy with it`;
      return [{ check: HUNG, ok: false, message }];
    }
    const invalid = await scope;
    if (invalid) return [{ check: 'result', ok: false, message: `${c.label}: ${invalid.message}` }];
    const wrong: string[] = [];
    const stray: string[] = [];
    for (const [i, b] of c.buffers.entries()) {
      const tensor = tensors[i];
      if (!tensor || !b.want) continue;
      const got = await readTensor(gpu, tensor.tensor);
      const tolerance = b.tolerance ?? EXACT;
      const verdict = describeCloseness(compareClose(got, b.want, tolerance), tolerance);
      if (verdict) wrong.push(`${b.name}: ${verdict}`);
      const where = await tensor.strayWrite();
      if (where) stray.push(`${b.name}: ${where}`);
    }
    return [
      wrong.length === 0
        ? { check: 'result', ok: true, message: `${c.label}: matches the CPU twin` }
        : { check: 'result', ok: false, message: `${c.label}: ${wrong.join('; ')}` },
      stray.length === 0
        ? { check: 'bounds', ok: true, message: `${c.label}: no writes outside the outputs` }
        : { check: 'bounds', ok: false, message: `${c.label}: out of bounds, ${stray.join('; ')}` },
    ];
  } finally {
    for (const t of tensors) t.destroy();
  }
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The race detector on host copies of the case's buffers (it interprets every invocation). */
function raceFinding(shader: ShaderSource, entryPoint: string, c: ExerciseCase): Finding {
  const bindings: Record<string, unknown> = {};
  c.buffers.forEach((b, i) => (bindings[i] = b.data.slice().buffer));
  bindings[c.buffers.length] = { uniform: c.params };
  let result: ReturnType<typeof detectRaces>;
  try {
    const config = { constants: { ...c.constants } };
    result = detectRaces(shader.code, entryPoint, [...c.workgroups], { 0: bindings }, config);
  } catch (e) {
    // The interpreter stops on an access it cannot map, most often an index past an array.
    const reason = e instanceof Error ? e.message : String(e);
    const message = `the race detector stopped on ${c.label}: ${reason} (an index past the end of an array?)`;
    return { check: 'races', ok: false, message };
  }
  if (result.errors.length > 0) {
    const message = `the race detector could not run ${c.label}: ${result.errors.slice(0, 3).join('; ')}`;
    return { check: 'races', ok: false, message };
  }
  if (result.races.length === 0)
    return { check: 'races', ok: true, message: `${c.label}: the race detector found no races` };
  const shown = result.races.slice(0, 3).map((r) => `  ${r.message}`);
  const message = `${c.label}: ${result.races.length} race(s), e.g.\n${shown.join('\n')}\n  (a barrier missing between a write and another invocation's read of the same memory?)`;
  return { check: 'races', ok: false, message };
}

async function compareSpeed(
  gpu: Gpu,
  shader: ShaderSource,
  exercise: Exercise,
): Promise<SpeedComparison | undefined> {
  const timing = exercise.timing;
  if (!timing) return undefined;
  const c = timing.case();
  const tensors = c.buffers.map((b) =>
    guardedTensor(gpu, [b.data.length], b.dtype, { initial: b.data }),
  );
  const library = timing.library(gpu, c);
  try {
    const yours = await timeCalls(gpu, [studentCall(shader, exercise.entryPoint, c, tensors)]);
    const theirs = await timeCalls(gpu, library.calls);
    const throughput = timing.work / (yours.medianMs * 1e6);
    return { yoursMs: yours.medianMs, libraryMs: theirs.medianMs, throughput, unit: timing.unit };
  } finally {
    for (const t of tensors) t.destroy();
    library.release();
  }
}
