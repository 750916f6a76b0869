/** CPU twin of shaders/reduce.wgsl: the spec the GPU kernel is tested against. */
import type { FloatArray } from './common.cpu';

export interface LossMeanArgs<T> {
  /** [N] per-sample losses. */
  loss: T;
  /** [1] the result: the mean, or a running total of means with `accumulate`. */
  total: T;
  N: number;
  /** Multiplies the sum; default 1/N (a mean). Use 1 for mseForward's pre-scaled partial sums. */
  scale?: number;
  /** Add to total[0] instead of overwriting it (epoch totals without a readback per step). */
  accumulate?: boolean;
}

export function lossMeanCpu({
  loss,
  total,
  N,
  scale = 1 / N,
  accumulate = false,
}: LossMeanArgs<FloatArray>): void {
  let sum = 0;
  for (let n = 0; n < N; n++) sum += loss[n] ?? 0;
  total[0] = (accumulate ? (total[0] ?? 0) : 0) + scale * sum;
}
