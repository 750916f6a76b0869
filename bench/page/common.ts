/**
 * Shared pieces of the Chrome benchmark page: URL options, the result row, the timing context,
 * and validation against CPU twins. Every suite validates a kernel on a small shape against its
 * twin before timing it (llm.c's validate-then-time); a mismatch throws and the kernel is not
 * timed. Times are medians over `reps` samples after `warmup` runs (src/gpu/timing.ts), from
 * timestamp queries when the device has them, else wall clock.
 */
import { timeCalls, type TimingResult } from '../../src/gpu/timing';
import type { Gpu, KernelCall } from '../../src/index';

export const SUITES = ['fma', 'matmul', 'conv', 'pool', 'softmax', 'adam', 'train'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface BenchOptions {
  /** Square matmul sizes N (M = N = K). */
  sizes: number[];
  /** Timed samples per kernel (the median is reported). */
  reps: number;
  warmup: number;
  /** Smaller FMA grid, small training model: a smoke run. */
  quick: boolean;
  /** Batch of the conv, pooling, softmax and training rows (the reference CNN uses 64). */
  batch: number;
  only: SuiteName[];
  /** Also time TensorFlow.js on the matmul and training-step shapes (?tfjs=0 skips it). */
  tfjs: boolean;
}

function numbers(raw: string | null, fallback: number[], name: string): number[] {
  if (raw === null || raw === '') return fallback;
  const values = raw.split(',').map(Number);
  if (!values.every((v) => Number.isInteger(v) && v >= 1))
    throw new Error(`?${name}=${raw}: expected whole numbers >= 1, comma-separated`);
  return values;
}

/** ?sizes=64,128&reps=3&warmup=1&quick=1&batch=64&only=matmul,conv&tfjs=0 */
export function parseBenchOptions(search: string): BenchOptions {
  const p = new URLSearchParams(search);
  const quick = p.get('quick') === '1' || p.get('quick') === 'true';
  const one = (name: string, fallback: number): number =>
    numbers(p.get(name), [fallback], name)[0] ?? fallback;
  const only = (p.get('only') ?? '').split(',').filter((s) => s !== '');
  const bad = only.find((s) => !(SUITES as readonly string[]).includes(s));
  if (bad !== undefined) throw new Error(`?only=${bad}: expected some of ${SUITES.join(', ')}`);
  return {
    sizes: numbers(p.get('sizes'), quick ? [64, 128] : [256, 512, 1024], 'sizes'),
    reps: one('reps', quick ? 3 : 7),
    warmup: numbers(p.get('warmup'), [quick ? 1 : 2], 'warmup')[0] ?? 1,
    quick,
    batch: one('batch', quick ? 8 : 64),
    only: only.length > 0 ? (only as SuiteName[]) : [...SUITES],
    tfjs: p.get('tfjs') !== '0' && p.get('tfjs') !== 'false',
  };
}

/** How a kernel was checked against its CPU twin before being timed. */
export interface Validation {
  /** The (small) shape validated. */
  shape: string;
  /** Largest |gpu - twin| over every element compared. */
  maxError: number;
  /** Allowed: atol + rtol * |twin| per element. */
  atol: number;
  rtol: number;
}

export interface BenchRow {
  suite: SuiteName;
  kernel: string;
  /** The timed shape. */
  shape: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  timing: TimingResult['source'];
  /** Throughput in `unit` (formula at each suite). */
  value: number;
  unit: 'GFLOP/s' | 'GB/s' | 'samples/s';
  validation: Validation;
}

export interface BenchContext {
  gpu: Gpu;
  options: BenchOptions;
  /** Times calls (prepared once; `repeat` copies per sample amortize tiny kernels). */
  time(calls: readonly KernelCall[], repeat?: number): Promise<TimingResult>;
  /** A progress line on the page. */
  log(message: string): void;
}

export function makeContext(
  gpu: Gpu,
  options: BenchOptions,
  log: (m: string) => void,
): BenchContext {
  return {
    gpu,
    options,
    log,
    time: (calls, repeat = 1) =>
      timeCalls(gpu, calls, { warmup: options.warmup, samples: options.reps, repeat }),
  };
}

/** One row from a timing: `work` is flops, bytes or samples per run, per `unit`. */
export function row(
  base: Pick<BenchRow, 'suite' | 'kernel' | 'shape' | 'unit' | 'validation'>,
  t: TimingResult,
  work: number,
): BenchRow {
  return {
    ...base,
    medianMs: t.medianMs,
    minMs: t.minMs,
    maxMs: t.maxMs,
    samples: t.samplesMs.length,
    timing: t.source,
    value: throughput(base.unit, work, t.medianMs),
  };
}

/** `work` (flops, bytes or samples per run) done in `ms`, in `unit`; 0 for a zero time. */
export function throughput(unit: BenchRow['unit'], work: number, ms: number): number {
  // GFLOP/s = flops / (ms * 1e6); GB/s = bytes / (ms * 1e6); samples/s = samples / (ms / 1e3).
  const perSecond = ms > 0 ? (work * 1000) / ms : 0;
  return unit === 'samples/s' ? perSecond : perSecond / 1e9;
}

/** Uniform floats in [-1, 1) from a small seeded generator (xorshift32), reproducible per seed. */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed * 2654435761 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/**
 * Absolute tolerance for a float32 sum of K products of values in [-1, 1]: partial sums grow
 * like √K, each addition rounds by at most 2^-24 of its size, so the error stays below
 * K·√K·2^-24 with room to spare at 8x that. A wrong index gives errors of order 1.
 */
export function dotAtol(K: number): number {
  return 2 ** -21 * K * Math.sqrt(K);
}

/** One output of a kernel and its CPU twin's values, with the tolerance it is held to. */
export interface TwinCheck {
  /** The output compared, e.g. 'dWeight'. */
  output: string;
  got: ArrayLike<number>;
  want: ArrayLike<number>;
  /** Allowed per element: atol + rtol * |want|. */
  atol: number;
  rtol: number;
}

/** What `compare` found in one output. */
export interface Comparison {
  output: string;
  /** Largest |got - want|. */
  maxError: number;
  /** Largest |got - want| / |want| over the elements where want is not 0. */
  maxRelError: number;
  atol: number;
  rtol: number;
  /** Elements outside atol + rtol * |want| (NaN included). */
  mismatches: number;
  /** The first of them, in words. */
  firstMismatch: string | undefined;
}

/** Every element of an output against its twin: the largest errors and what is out of tolerance. */
export function compare({ output, got, want, atol, rtol }: TwinCheck): Comparison {
  const base = { output, atol, rtol };
  if (got.length !== want.length) {
    const firstMismatch = `${got.length} values, the CPU twin has ${want.length}`;
    const mismatches = Math.max(got.length, want.length);
    return { ...base, maxError: NaN, maxRelError: NaN, mismatches, firstMismatch };
  }
  let [maxError, maxRelError, mismatches] = [0, 0, 0];
  let firstMismatch: string | undefined;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? 0;
    const g = got[i] ?? NaN;
    const err = Math.abs(g - w);
    if (!(err <= atol + rtol * Math.abs(w))) {
      mismatches++;
      firstMismatch ??= `element ${i} is ${g}, the CPU twin says ${w}`;
    }
    if (!Number.isNaN(err)) maxError = Math.max(maxError, err);
    if (w !== 0 && !Number.isNaN(err)) maxRelError = Math.max(maxRelError, err / Math.abs(w));
  }
  return { ...base, maxError, maxRelError, mismatches, firstMismatch };
}

/** Throws naming the kernel unless |got - want| <= atol + rtol·|want| everywhere; returns the check. */
export function validate(
  kernel: string,
  shape: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol = 1e-5,
): Validation {
  const c = compare({ output: kernel, got, want, atol, rtol });
  if (c.firstMismatch !== undefined) throw new Error(`${kernel} [${shape}]: ${c.firstMismatch}`);
  return { shape, maxError: c.maxError, atol, rtol };
}

/** The worse of several validations of one kernel (e.g. dWeight and dX of a backward pass). */
export function worst(...checks: Validation[]): Validation {
  // An exact check (atol 0) that passed has error 0: its ratio is 0, never NaN.
  const ratio = (v: Validation): number => v.maxError / Math.max(v.atol, Number.MIN_VALUE);
  return checks.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
}
