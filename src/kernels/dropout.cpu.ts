/**
 * CPU twin of shaders/dropout.wgsl: the same lowbias32 hash in u32 arithmetic (Math.imul, >>> 0),
 * so its masks are bit-exact with the GPU's, and the same f32 scale, so its float32 outputs are too.
 */
import type { FloatArray } from './common.cpu';

export interface DropoutForwardArgs<T, S = T> {
  x: T;
  /** Shape [t]: optimizer steps completed (u32 [1] on the GPU). The mask changes with it. */
  step: S;
  y: T;
  /** Probability p of dropping an element, 0 <= p < 1. */
  rate: number;
  /** u32 seed of the layer. */
  seed: number;
  /** u32 layer id: layers sharing a seed and step still draw different masks. */
  layer: number;
}

export interface DropoutBackwardArgs<T, S = T> {
  dY: T;
  step: S;
  dX: T;
  rate: number;
  seed: number;
  layer: number;
}

/** Whether p is a valid dropout probability: 0 <= p < 1. */
export function isDropoutRate(rate: number): boolean {
  return Number.isFinite(rate) && rate >= 0 && rate < 1;
}

/** floor(p * 2^32): elements whose hash bits fall below it are dropped, so P(drop) = p. */
export function dropoutThreshold(rate: number): number {
  return Math.min(Math.floor(rate * 2 ** 32), 0xffffffff);
}

/** 1 / (1 - p) rounded to f32, as the GPU receives it in Params. */
export function dropoutScale(rate: number): number {
  return Math.fround(1 / (1 - rate));
}

/** lowbias32 (Chris Wellons' hash-prospector): a bijective 32-bit integer hash. */
export function lowbias32(word: number): number {
  let h = word >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash stream of one (seed, step, layer); element i's bits are lowbias32(stream ^ h(i)). */
export function dropoutStream(seed: number, step: number, layer: number): number {
  return lowbias32(lowbias32(lowbias32(seed) ^ step) ^ layer);
}

/** keep[i] = 1 where element i survives, 0 where it is dropped. */
export function dropoutMaskCpu(
  count: number,
  { step, rate, seed, layer }: Omit<DropoutForwardArgs<unknown, ArrayLike<number>>, 'x' | 'y'>,
): Uint8Array {
  const stream = dropoutStream(seed, (step[0] ?? 0) >>> 0, layer);
  const threshold = dropoutThreshold(rate);
  const keep = new Uint8Array(count);
  for (let i = 0; i < count; i++) keep[i] = lowbias32(stream ^ lowbias32(i)) >= threshold ? 1 : 0;
  return keep;
}

/** y = x * mask / (1 - p); a dropped element is exactly 0. */
export function dropoutForwardCpu(args: DropoutForwardArgs<FloatArray, ArrayLike<number>>): void {
  const { x, y } = args;
  const [keep, scale] = [dropoutMaskCpu(x.length, args), dropoutScale(args.rate)];
  for (let i = 0; i < x.length; i++) y[i] = keep[i] ? (x[i] ?? 0) * scale : 0;
}

/** dX = dY * mask / (1 - p), with the forward's mask recomputed from the same hash. */
export function dropoutBackwardCpu(args: DropoutBackwardArgs<FloatArray, ArrayLike<number>>): void {
  const { dY, dX } = args;
  const [keep, scale] = [dropoutMaskCpu(dY.length, args), dropoutScale(args.rate)];
  for (let i = 0; i < dY.length; i++) dX[i] = keep[i] ? (dY[i] ?? 0) * scale : 0;
}
