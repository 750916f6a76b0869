/**
 * Shared pieces of the Chrome benchmark page: URL options, the result row and the timing context.
 * Every suite validates a kernel case (bench/cases) on a small shape against its twin before
 * timing it (llm.c's validate-then-time); a mismatch throws and the kernel is not timed. Times are
 * medians over `reps` samples after `warmup` runs (src/gpu/timing.ts), from timestamp queries
 * when the device has them, else wall clock.
 */
import { type Gpu } from '../../src/index';
import { median, timeCalls, type KernelCall, type TimingResult } from '../../src/kernelApi';
import type { Validation } from '../cases';
import type { TfjsTiming } from './tfjsSuite';

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

/**
 * Matmuls per wall-clock sample when a matmul is set against tf.matMul: both sides issue this
 * many, then read back one element (the read-back latency is shared out over them).
 */
export const MATMUL_WALL_REPEAT = 8;

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
  /** The autotuner's report on the timed plan (tuningLines), for rows of a tuned step. */
  tuning?: string[];
  /** tfjs on the same work, timed in turns with this row (Trainer.trainStep's row). */
  tfjs?: TfjsTiming;
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

/** A wall-clock timing from samples taken by hand (median, extremes). */
export function wallClock(samplesMs: number[]): TimingResult {
  const medianMs = median(samplesMs);
  return {
    medianMs,
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    samplesMs,
    source: 'wall-clock',
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
