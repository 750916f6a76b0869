/**
 * Kernel cases: one kernel on one shape with random inputs, its calls, and the check of each output
 * against the CPU twin with the tolerance it is held to. One set serves the Node kernel benchmark
 * (bench/kernels.ts), the Chrome bench page (bench/page) and the kernel explorer (demo/explorer):
 * they validate a case (usually on a small, odd shape), then time one; what they add on top
 * (tables, the report, the explorer's UI) stays with them. Comparisons use src/base/compare.ts.
 */
import { type Gpu } from '../../src/index';
import {
  compareClose,
  createTensor,
  describeMismatch,
  runCalls,
  uploadTensor,
  type GpuTensor,
  type KernelCall,
  type Tolerance,
  type TimingResult,
} from '../../src/kernelApi';

/** One output of a kernel and its CPU twin's values, with the tolerance it is held to. */
export interface TwinCheck extends Tolerance {
  /** The output compared, e.g. 'dWeight'. */
  output: string;
  got: ArrayLike<number>;
  want: ArrayLike<number>;
}

/** A kernel on one shape with random inputs uploaded, ready to run, check and time. */
export interface KernelCase {
  /** The shape in words, e.g. `M=65 K=17 N=33`. */
  shape: string;
  /** Run once before `calls` (e.g. the forward whose argmax a backward reads); never timed. */
  setup: KernelCall[];
  /** What is checked and timed. */
  calls: KernelCall[];
  /** After one run of setup + calls: reads the outputs and computes the twins' values for them. */
  check(): Promise<TwinCheck[]>;
  /** Destroys every tensor of the case. */
  destroy(): void;
}

/** Makes the tensors of a case; all are destroyed together. */
export interface CaseTensors {
  /** The dtype follows the array: f32, i32, u32 (a packed draw, say) or f16 (its bit patterns). */
  upload(
    data: Float32Array | Int32Array | Uint32Array | Uint16Array,
    shape: readonly number[],
  ): GpuTensor;
  zeros(shape: readonly number[], dtype?: 'f32' | 'u32'): GpuTensor;
}

/** The part of a case its builder returns (makeCase adds destroy). */
export type CaseParts = Omit<KernelCase, 'destroy'>;

/**
 * Builds a case: `build` makes its tensors through `t` and returns the rest; the case's destroy
 * frees them all, and so does a throw from `build` (a shape the device refuses, say).
 */
export function makeCase(gpu: Gpu, build: (t: CaseTensors) => CaseParts): KernelCase {
  const made: GpuTensor[] = [];
  const keep = (t: GpuTensor): GpuTensor => (made.push(t), t);
  const destroy = (): void => made.splice(0).forEach((t) => t.buffer.destroy());
  try {
    const built = build({
      upload: (data, shape) => keep(uploadTensor(gpu, data, shape)),
      zeros: (shape, dtype = 'f32') => keep(createTensor(gpu, shape, { dtype })),
    });
    return { ...built, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** What the comparison found in one output (flat, for reports and the explorer's JSON). */
export interface Comparison extends Tolerance {
  output: string;
  /** Largest |got - want|. */
  maxError: number;
  /** Largest |got - want| / |want| over the elements where want is not 0. */
  maxRelError: number;
  /** Elements outside atol + rtol·|want| (NaN included). */
  mismatches: number;
  /** The first of them, in words. */
  firstMismatch: string | undefined;
}

/** One output against its twin (src/base/compare.ts), flattened into a Comparison. */
export function compare({ output, got, want, atol, rtol }: TwinCheck): Comparison {
  const c = compareClose(got, want, { atol, rtol }, 1);
  const [first] = c.first;
  const firstMismatch = c.lengths
    ? `${c.lengths.got} values, the CPU twin has ${c.lengths.want}`
    : first && describeMismatch(first);
  const { maxError, maxRelError, mismatches } = c;
  return { output, atol, rtol, maxError, maxRelError, mismatches, firstMismatch };
}

/** Runs setup and calls once and returns every output's comparison with its twin. */
export async function compareCase(gpu: Gpu, c: KernelCase): Promise<Comparison[]> {
  await runCalls(gpu, [...c.setup, ...c.calls]);
  return (await c.check()).map(compare);
}

/** How a kernel was checked against its CPU twin before being timed. */
export interface Validation extends Tolerance {
  /** The (small) shape validated. */
  shape: string;
  /** Largest |gpu - twin| over every element compared. */
  maxError: number;
}

/** The worse of several validations of one kernel (e.g. dWeight and dX of a backward pass). */
export function worst(...checks: Validation[]): Validation {
  // An exact check (atol 0) that passed has error 0: its ratio is 0, never NaN.
  const ratio = (v: Validation): number => v.maxError / Math.max(v.atol, Number.MIN_VALUE);
  return checks.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
}

/** Throws naming the kernel, shape and output unless every comparison passed; else the worst. */
export function validation(kernel: string, shape: string, comparisons: Comparison[]): Validation {
  const bad = comparisons.find((x) => x.mismatches > 0);
  if (bad) throw new Error(`${kernel} ${bad.output} [${shape}]: ${bad.firstMismatch}`);
  return worst(...comparisons.map(({ maxError, atol, rtol }) => ({ shape, maxError, atol, rtol })));
}

/** Validates a case (throws on a mismatch, naming the kernel and output) and destroys it. */
export async function validateCase(gpu: Gpu, kernel: string, c: KernelCase): Promise<Validation> {
  try {
    return validation(kernel, c.shape, await compareCase(gpu, c));
  } finally {
    c.destroy();
  }
}

/** Runs the case's setup once, then times its calls with the consumer's `time`. */
export async function timeCase(
  gpu: Gpu,
  c: KernelCase,
  time: (calls: readonly KernelCall[]) => Promise<TimingResult>,
): Promise<TimingResult> {
  if (c.setup.length > 0) await runCalls(gpu, c.setup);
  return time(c.calls);
}
