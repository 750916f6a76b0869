/**
 * CPU twin of shaders/softmaxCrossEntropy.wgsl: the spec the GPU kernels are tested against.
 * Logits [N, K] row-major, labels [N] (Int32Array in the twin, an i32 tensor on the GPU).
 */
import type { FloatArray } from './common.cpu';

export interface SoftmaxCrossEntropyForwardArgs<T, L = T> {
  logits: T;
  labels: L;
  /** [N] per-sample losses; reduce with lossMean for the batch mean. */
  loss: T;
  N: number;
  K: number;
}

export interface SoftmaxCrossEntropyBackwardArgs<T, L = T> {
  logits: T;
  labels: L;
  /** [N, K], the gradient of the batch-mean loss times `scale`. */
  dLogits: T;
  N: number;
  K: number;
  /** Multiplies the gradient (e.g. a loss weight); default 1. */
  scale?: number;
}

/** Bindings order dLogits before loss, so the shader shares dLogits with the backward entry. */
export interface SoftmaxCrossEntropyForwardBackwardArgs<
  T,
  L = T,
> extends SoftmaxCrossEntropyBackwardArgs<T, L> {
  loss: T;
}

/** The row's max and sum_k exp(logit - max): logsumexp = max + log(sumExp). */
function rowStats(logits: FloatArray, base: number, K: number): { max: number; sumExp: number } {
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, logits[base + k] ?? 0);
  let sumExp = 0;
  for (let k = 0; k < K; k++) sumExp += Math.exp((logits[base + k] ?? 0) - max);
  return { max, sumExp };
}

const validLabel = (label: number, K: number): boolean => label >= 0 && label < K;

/** loss[n] = logsumexp(logits[n]) - logits[n, label]; NaN for a label outside [0, K). */
export function softmaxCrossEntropyForwardCpu({
  logits,
  labels,
  loss,
  N,
  K,
}: SoftmaxCrossEntropyForwardArgs<FloatArray, Int32Array>): void {
  for (let n = 0; n < N; n++) {
    const label = labels[n] ?? -1;
    const { max, sumExp } = rowStats(logits, n * K, K);
    loss[n] = validLabel(label, K) ? max - (logits[n * K + label] ?? 0) + Math.log(sumExp) : NaN;
  }
}

/** d(mean_n loss[n])/dlogits[n, k] = (softmax_k - [k == label]) / N, times scale; NaN rows for bad labels. */
export function softmaxCrossEntropyBackwardCpu(
  args: SoftmaxCrossEntropyBackwardArgs<FloatArray, Int32Array>,
): void {
  const { logits, labels, dLogits, N, K, scale = 1 } = args;
  for (let n = 0; n < N; n++) {
    const label = labels[n] ?? -1;
    const { max, sumExp } = rowStats(logits, n * K, K);
    for (let k = 0, i = n * K; k < K; k++, i++) {
      const p = Math.exp((logits[i] ?? 0) - max) / sumExp;
      dLogits[i] = validLabel(label, K) ? ((p - (k === label ? 1 : 0)) * scale) / N : NaN;
    }
  }
}

export function softmaxCrossEntropyForwardBackwardCpu(
  args: SoftmaxCrossEntropyForwardBackwardArgs<FloatArray, Int32Array>,
): void {
  softmaxCrossEntropyForwardCpu(args);
  softmaxCrossEntropyBackwardCpu(args);
}
