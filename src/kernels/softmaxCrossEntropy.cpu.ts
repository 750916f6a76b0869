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
  /** Rows with this label get loss 0 (torch's ignore_index); default: none ignored. */
  ignoreIndex?: number;
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
  /**
   * Rows with this label get a zero gradient, and the others that of the mean over the M rows
   * kept, (softmax - onehot) / M (torch's ignore_index); default: none ignored (M = N).
   */
  ignoreIndex?: number;
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

/** The rows the mean runs over: those whose label is not ignoreIndex (0 when all are ignored). */
export function keptRows(labels: Int32Array, N: number, ignoreIndex?: number): number {
  let kept = 0;
  for (let n = 0; n < N; n++) if (labels[n] !== ignoreIndex) kept++;
  return kept;
}

/** loss[n] = logsumexp(logits[n]) - logits[n, label]; NaN for a label outside [0, K). */
export function softmaxCrossEntropyForwardCpu({
  logits,
  labels,
  loss,
  N,
  K,
  ignoreIndex,
}: SoftmaxCrossEntropyForwardArgs<FloatArray, Int32Array>): void {
  for (let n = 0; n < N; n++) {
    const label = labels[n] ?? -1;
    if (label === ignoreIndex) {
      loss[n] = 0;
      continue;
    }
    const { max, sumExp } = rowStats(logits, n * K, K);
    loss[n] = validLabel(label, K) ? max - (logits[n * K + label] ?? 0) + Math.log(sumExp) : NaN;
  }
}

/**
 * d(mean loss)/dlogits[n, k] = (softmax_k - [k == label]) / M, times scale, over the M rows not
 * ignored (M = N by default); zero rows for ignored labels, NaN rows for bad ones.
 */
export function softmaxCrossEntropyBackwardCpu(
  args: SoftmaxCrossEntropyBackwardArgs<FloatArray, Int32Array>,
): void {
  const { logits, labels, dLogits, N, K, scale = 1, ignoreIndex } = args;
  // All rows ignored: no row to scale (torch's gradient is then 0 too, its mean 0/0 = NaN).
  const kept = Math.max(keptRows(labels, N, ignoreIndex), 1);
  for (let n = 0; n < N; n++) {
    const label = labels[n] ?? -1;
    if (label === ignoreIndex) {
      dLogits.fill(0, n * K, n * K + K);
      continue;
    }
    const { max, sumExp } = rowStats(logits, n * K, K);
    for (let k = 0, i = n * K; k < K; k++, i++) {
      const p = Math.exp((logits[i] ?? 0) - max) / sumExp;
      dLogits[i] = validLabel(label, K) ? ((p - (k === label ? 1 : 0)) * scale) / kept : NaN;
    }
  }
}

export function softmaxCrossEntropyForwardBackwardCpu(
  args: SoftmaxCrossEntropyForwardBackwardArgs<FloatArray, Int32Array>,
): void {
  softmaxCrossEntropyForwardCpu(args);
  softmaxCrossEntropyBackwardCpu(args);
}
