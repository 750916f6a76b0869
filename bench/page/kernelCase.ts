/**
 * Kernel cases: one kernel on one shape with random inputs, its calls and the check of its outputs
 * against the CPU twin. The bench suites validate a case on a small shape and time one on a large
 * shape; the kernel explorer (demo/explorer) runs, compares and times a case on the user's sizes.
 */
import { createTensor, runCalls, uploadTensor } from '../../src/index';
import type { Gpu, GpuTensor, KernelCall, TimingResult } from '../../src/index';
import {
  compare,
  worst,
  type BenchContext,
  type Comparison,
  type TwinCheck,
  type Validation,
} from './common';

/** A kernel on one shape with random inputs uploaded, ready to run, check and time. */
export interface KernelCase {
  /** The shape in words, e.g. `65x17x33`. */
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
  upload(data: Float32Array | Int32Array, shape: readonly number[]): GpuTensor;
  zeros(shape: readonly number[], dtype?: 'f32' | 'u32'): GpuTensor;
}

/**
 * Builds a case: `build` makes its tensors through `t` and returns the rest; the case's destroy
 * frees them all, and so does a throw from `build` (a shape the device refuses, say).
 */
export function makeCase(
  gpu: Gpu,
  build: (t: CaseTensors) => Omit<KernelCase, 'destroy'>,
): KernelCase {
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

/** Runs setup and calls once and returns every output's comparison with its twin. */
export async function compareCase(gpu: Gpu, c: KernelCase): Promise<Comparison[]> {
  await runCalls(gpu, [...c.setup, ...c.calls]);
  return (await c.check()).map(compare);
}

/** Validates a case (throws on a mismatch, naming the kernel and output) and destroys it. */
export async function validateCase(gpu: Gpu, kernel: string, c: KernelCase): Promise<Validation> {
  try {
    const comparisons = await compareCase(gpu, c);
    const bad = comparisons.find((x) => x.firstMismatch !== undefined);
    if (bad) throw new Error(`${kernel} ${bad.output} [${c.shape}]: ${bad.firstMismatch}`);
    const { shape } = c;
    return worst(
      ...comparisons.map(({ maxError, atol, rtol }) => ({ shape, maxError, atol, rtol })),
    );
  } finally {
    c.destroy();
  }
}

/** Runs the case's setup once, then times its calls (see BenchContext.time). */
export async function timeCase(
  ctx: Pick<BenchContext, 'gpu' | 'time'>,
  c: KernelCase,
  repeat = 1,
): Promise<TimingResult> {
  if (c.setup.length > 0) await runCalls(ctx.gpu, c.setup);
  return ctx.time(c.calls, repeat);
}
