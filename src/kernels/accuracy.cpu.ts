/**
 * CPU twin of shaders/accuracy.wgsl: the spec the GPU kernels are tested against. Logits [N, K]
 * row-major; labels Int32Array [N]; counts and predictions Uint32Array.
 */
import type { FloatArray } from './common.cpu';

export interface AccuracyCountArgs<T, L = T, U = T> {
  logits: T;
  labels: L;
  /** [1] number of samples whose argmax equals the label (u32). */
  correct: U;
  N: number;
  K: number;
  /** Add to correct[0] instead of overwriting it (epoch counts without a readback per step). */
  accumulate?: boolean;
}

export interface AccuracyArgmaxArgs<T, U = T> {
  logits: T;
  /** [N] argmax_k logits[n, k] (u32). */
  predictions: U;
  N: number;
  K: number;
}

/** Index of the row's largest logit; the first one wins ties (strict >). */
function rowArgmax(logits: FloatArray, base: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if ((logits[base + k] ?? 0) > (logits[base + best] ?? 0)) best = k;
  return best;
}

export function accuracyCountCpu({
  logits,
  labels,
  correct,
  N,
  K,
  accumulate = false,
}: AccuracyCountArgs<FloatArray, Int32Array, Uint32Array>): void {
  let hits = 0;
  for (let n = 0; n < N; n++) if (rowArgmax(logits, n * K, K) === labels[n]) hits++;
  correct[0] = (accumulate ? (correct[0] ?? 0) : 0) + hits;
}

export function accuracyArgmaxCpu({
  logits,
  predictions,
  N,
  K,
}: AccuracyArgmaxArgs<FloatArray, Uint32Array>): void {
  for (let n = 0; n < N; n++) predictions[n] = rowArgmax(logits, n * K, K);
}
