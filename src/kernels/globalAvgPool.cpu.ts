/** CPU twin of shaders/globalAvgPool.wgsl: AdaptiveAvgPool2d(1) on [N, C, S]. */
import type { FloatArray } from './common.cpu';

export interface GlobalAvgPoolForwardArgs<T> {
  /** [N, C, S] */
  x: T;
  /** The mean over S, [N, C]. */
  out: T;
  N: number;
  C: number;
  S: number;
}

export interface GlobalAvgPoolBackwardArgs<T> {
  /** [N, C] */
  dOut: T;
  /** [N, C, S] = dOut / S. */
  dX: T;
  N: number;
  C: number;
  S: number;
}

/** Sums in order s = 0..S-1, then divides, as each GPU invocation does. */
export function globalAvgPoolForwardCpu({
  x,
  out,
  N,
  C,
  S,
}: GlobalAvgPoolForwardArgs<FloatArray>): void {
  for (let row = 0; row < N * C; row++) {
    let acc = 0;
    for (let s = 0; s < S; s++) acc += x[row * S + s] ?? 0;
    out[row] = acc / S;
  }
}

export function globalAvgPoolBackwardCpu({
  dOut,
  dX,
  N,
  C,
  S,
}: GlobalAvgPoolBackwardArgs<FloatArray>): void {
  for (let i = 0; i < N * C * S; i++) dX[i] = (dOut[Math.floor(i / S)] ?? 0) / S;
}
