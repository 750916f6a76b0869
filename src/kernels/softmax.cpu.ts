/**
 * CPU twin of shaders/softmax.wgsl: softmax(scale x + causalMask) over the last axis of a
 * [rows, L] row-major array, and its backward. Causal: row r is query t = r % L and keeps the
 * columns j <= t (rows is a multiple of L: a stack of [T, T] score matrices).
 */
import type { FloatArray } from './common.cpu';

export interface SoftmaxForwardArgs<T> {
  /** [rows, L] scores. */
  x: T;
  /** [rows, L] probabilities; 0 exactly in masked columns. */
  y: T;
  rows: number;
  L: number;
  /** Multiplies x before the softmax (1/sqrt(headDim) in attention); finite and > 0. */
  scale: number;
  /** Masks columns j > r % L of row r (rows must be a multiple of L). */
  causal: boolean;
}

export interface SoftmaxBackwardArgs<T> {
  /** [rows, L] the forward's output (its zeros carry the mask). */
  y: T;
  /** [rows, L] dL/dy. */
  dY: T;
  /** [rows, L] dL/dx = scale y (dY - sum_k y_k dY_k). */
  dX: T;
  rows: number;
  L: number;
  scale: number;
}

/** Per row: the max of scale x over the kept columns, exp of the differences, divided by their sum. */
export function softmaxForwardCpu({
  x,
  y,
  rows,
  L,
  scale,
  causal,
}: SoftmaxForwardArgs<FloatArray>): void {
  for (let r = 0; r < rows; r++) {
    const base = r * L;
    const kept = causal ? (r % L) + 1 : L;
    let max = -Infinity;
    for (let j = 0; j < kept; j++) max = Math.max(max, scale * (x[base + j] ?? 0));
    let sumExp = 0;
    for (let j = 0; j < kept; j++) sumExp += Math.exp(scale * (x[base + j] ?? 0) - max);
    for (let j = 0; j < L; j++)
      y[base + j] = j < kept ? Math.exp(scale * (x[base + j] ?? 0) - max) / sumExp : 0;
  }
}

/** d softmax_j / d z_k = y_j ([j == k] - y_k), so dX = scale y (dY - <y, dY>) per row. */
export function softmaxBackwardCpu({
  y,
  dY,
  dX,
  rows,
  L,
  scale,
}: SoftmaxBackwardArgs<FloatArray>): void {
  for (let r = 0; r < rows; r++) {
    const base = r * L;
    let weighted = 0;
    for (let j = 0; j < L; j++) weighted += (y[base + j] ?? 0) * (dY[base + j] ?? 0);
    for (let j = 0; j < L; j++)
      dX[base + j] = scale * (y[base + j] ?? 0) * ((dY[base + j] ?? 0) - weighted);
  }
}
