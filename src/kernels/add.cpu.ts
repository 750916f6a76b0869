/** CPU twin of shaders/add.wgsl: the spec its kernels are tested against. Layout [N, C, S]. */
import { activateCpu, type Activation, type FloatArray } from './common.cpu';

export interface AddForwardArgs<T> {
  /** [N, C, S] */
  a: T;
  /** [N, C, S] like a, or [N, C] with broadcast 'spatial'. */
  b: T;
  /** [N, C, S] = f(a + b). */
  out: T;
  N: number;
  C: number;
  S: number;
  /** 'spatial': b holds one value per (sample, channel), added over all S. Default 'none'. */
  broadcast?: 'none' | 'spatial';
  /** Applied after the sum; default 'none'. */
  activation?: Activation;
}

export interface AddBackwardArgs<T> {
  dOut: T;
  /** = dOut */
  dA: T;
  /** = dOut */
  dB: T;
  count: number;
}

export interface AddCopyArgs<T> {
  source: T;
  target: T;
  count: number;
}

/** target += source: how a node's gradient parts are summed. */
export type AddAccumulateArgs<T> = AddCopyArgs<T>;

export interface AddSpatialSumArgs<T> {
  /** [N, C, S] */
  dOut: T;
  /** [N, C] = sum over s of dOut. */
  dB: T;
  N: number;
  C: number;
  S: number;
}

export function addForwardCpu(args: AddForwardArgs<FloatArray>): void {
  const { a, b, out, N, C, S } = args;
  const spatial = args.broadcast === 'spatial';
  const activation = args.activation ?? 'none';
  for (let i = 0; i < N * C * S; i++) {
    const bi = spatial ? Math.floor(i / S) : i;
    out[i] = activateCpu((a[i] ?? 0) + (b[bi] ?? 0), activation);
  }
}

export function addBackwardCpu({ dOut, dA, dB, count }: AddBackwardArgs<FloatArray>): void {
  for (let i = 0; i < count; i++) {
    dA[i] = dOut[i] ?? 0;
    dB[i] = dOut[i] ?? 0;
  }
}

export function addCopyCpu({ source, target, count }: AddCopyArgs<FloatArray>): void {
  for (let i = 0; i < count; i++) target[i] = source[i] ?? 0;
}

export function addAccumulateCpu({ source, target, count }: AddAccumulateArgs<FloatArray>): void {
  for (let i = 0; i < count; i++) target[i] = (target[i] ?? 0) + (source[i] ?? 0);
}

/** In order s = 0..S-1, as each GPU invocation sums. */
export function addSpatialSumCpu({ dOut, dB, N, C, S }: AddSpatialSumArgs<FloatArray>): void {
  for (let row = 0; row < N * C; row++) {
    let acc = 0;
    for (let s = 0; s < S; s++) acc += dOut[row * S + s] ?? 0;
    dB[row] = acc;
  }
}
