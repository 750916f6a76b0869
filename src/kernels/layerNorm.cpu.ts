/**
 * CPU twin of shaders/layerNorm.wgsl: torch.nn.LayerNorm over the last axis of [rows, D], with
 * weight and bias [D], and its gradients. mean and rstd = 1/sqrt(biased variance + eps) are [rows].
 */
import type { FloatArray } from './common.cpu';

export interface LayerNormForwardArgs<T> {
  /** [rows, D] */
  x: T;
  /** [D] */
  weight: T;
  /** [D] */
  bias: T;
  /** [rows, D] = (x - mean) rstd weight + bias. */
  y: T;
  /** [rows], written for the backward. */
  mean: T;
  /** [rows] = 1 / sqrt(variance + eps), written for the backward. */
  rstd: T;
  rows: number;
  D: number;
  /** Added to the variance (torch 1e-5); > 0. */
  eps: number;
}

export interface LayerNormBackwardArgs<T> {
  /** [rows, D], the forward's input. */
  x: T;
  /** [D] */
  weight: T;
  /** [rows], from the forward. */
  mean: T;
  /** [rows], from the forward. */
  rstd: T;
  /** [rows, D] dL/dy. */
  dY: T;
  /** [rows, D] dL/dx; left out when the input needs no gradient. */
  dX?: T;
  /** [D] = sum over rows of dY xhat. */
  dWeight: T;
  /** [D] = sum over rows of dY. */
  dBias: T;
  rows: number;
  D: number;
}

/** Two passes per row (mean, then squared deviations), as the shader. */
export function layerNormForwardCpu(a: LayerNormForwardArgs<FloatArray>): void {
  const { x, weight, bias, y, mean, rstd, rows, D, eps } = a;
  for (let r = 0; r < rows; r++) {
    const at = (d: number): number => x[r * D + d] ?? 0;
    let [total, squares] = [0, 0];
    for (let d = 0; d < D; d++) total += at(d);
    const m = total / D;
    for (let d = 0; d < D; d++) squares += (at(d) - m) ** 2;
    const inv = 1 / Math.sqrt(squares / D + eps);
    for (let d = 0; d < D; d++)
      y[r * D + d] = (at(d) - m) * inv * (weight[d] ?? 0) + (bias[d] ?? 0);
    mean[r] = m;
    rstd[r] = inv;
  }
}

/** dX = rstd (g - mean(g) - xhat mean(g xhat)), g = dY weight; parameter sums over rows in order. */
export function layerNormBackwardCpu(a: LayerNormBackwardArgs<FloatArray>): void {
  const { x, weight, mean, rstd, dY, dX, dWeight, dBias, rows, D } = a;
  const xhat = (r: number, d: number): number =>
    ((x[r * D + d] ?? 0) - (mean[r] ?? 0)) * (rstd[r] ?? 0);
  for (let d = 0; d < D; d++) {
    let [w, b] = [0, 0];
    for (let r = 0; r < rows; r++) {
      w += (dY[r * D + d] ?? 0) * xhat(r, d);
      b += dY[r * D + d] ?? 0;
    }
    [dWeight[d], dBias[d]] = [w, b];
  }
  if (!dX) return;
  for (let r = 0; r < rows; r++) {
    const g = (d: number): number => (dY[r * D + d] ?? 0) * (weight[d] ?? 0);
    let [gSum, gxSum] = [0, 0];
    for (let d = 0; d < D; d++) [gSum, gxSum] = [gSum + g(d), gxSum + g(d) * xhat(r, d)];
    for (let d = 0; d < D; d++)
      dX[r * D + d] = (rstd[r] ?? 0) * (g(d) - gSum / D - xhat(r, d) * (gxSum / D));
  }
}
