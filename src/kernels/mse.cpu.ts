/** CPU twin of shaders/mse.wgsl: the spec the GPU kernels are tested against. Layout [N, D]. */
import type { FloatArray } from './common.cpu';

export interface MseForwardArgs<T> {
  pred: T;
  target: T;
  /** [N] partial sums: loss[n] = sum_d (pred - target)^2 / (N*D); their sum is the mean. */
  loss: T;
  N: number;
  D: number;
}

export interface MseBackwardArgs<T> {
  pred: T;
  target: T;
  /** [N, D] gradient of the mean: 2 (pred - target) / (N*D). */
  dPred: T;
  N: number;
  D: number;
}

export function mseForwardCpu({ pred, target, loss, N, D }: MseForwardArgs<FloatArray>): void {
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let i = n * D; i < (n + 1) * D; i++) sum += ((pred[i] ?? 0) - (target[i] ?? 0)) ** 2;
    loss[n] = sum / (N * D);
  }
}

/** d/dpred of sum (pred - target)^2 / (N*D). */
export function mseBackwardCpu({ pred, target, dPred, N, D }: MseBackwardArgs<FloatArray>): void {
  for (let i = 0; i < N * D; i++) dPred[i] = (2 * ((pred[i] ?? 0) - (target[i] ?? 0))) / (N * D);
}
