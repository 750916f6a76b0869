/**
 * CPU twin of shaders/batchNorm.wgsl: the spec the GPU kernels are tested against. Layout
 * [N, C, S] (S = H*W for BatchNorm2d, 1 for BatchNorm1d), per-channel tensors [C], M = N*S values
 * per channel. Sums run in float64 in the order n outer, s inner; statistics in two passes (the
 * mean, then the squared deviations from it), as the GPU does.
 */
import { ShadergradError } from '../base/errors';
import { activateCpu, type Activation, type FloatArray } from './common.cpu';

export interface BatchNormStatsArgs<T> {
  /** [N, C, S] */
  x: T;
  /** [C] written: the batch mean. */
  mean: T;
  /** [C] written: the biased batch variance (divided by M, as torch normalizes with). */
  variance: T;
  N: number;
  C: number;
  /** Spatial size per channel: H*W, or 1 for BatchNorm1d. */
  S: number;
}

export interface BatchNormForwardArgs<T> {
  /** [N, C, S] */
  x: T;
  /** [C] the batch mean (training) or the running mean (evaluation). */
  mean: T;
  /** [C] the biased batch variance (training) or the running variance (evaluation). */
  variance: T;
  /** [C] gamma */
  weight: T;
  /** [C] beta */
  bias: T;
  /** [N, C, S] written: f(xhat * weight + bias). */
  y: T;
  N: number;
  C: number;
  S: number;
  /** Added to the variance under the square root (torch's default 1e-5). */
  eps: number;
  /** Applied after the affine map; default 'none'. */
  activation?: Activation;
}

export interface BatchNormRunningUpdateArgs<T> {
  /** [C] the batch mean, from batchNormStats. */
  mean: T;
  /** [C] the biased batch variance, from batchNormStats. */
  variance: T;
  /** [C] updated in place. */
  runningMean: T;
  /** [C] updated in place, with the unbiased batch variance. */
  runningVar: T;
  C: number;
  /** Values per channel in the batch, N*S; at least 2. */
  count: number;
  /** Weight of the batch in the running average (torch's default 0.1). */
  momentum: number;
}

export interface BatchNormBackwardArgs<T> {
  /** [N, C, S] the forward's input. */
  x: T;
  /** [N, C, S] dL/d(y before the activation): run the activation's backward first. */
  dY: T;
  /** [C] the forward's batch mean. */
  mean: T;
  /** [C] the forward's biased batch variance. */
  variance: T;
  /** [C] gamma */
  weight: T;
  /** [C] written: sum over n, s of dY * xhat. */
  dWeight: T;
  /** [C] written: sum over n, s of dY. */
  dBias: T;
  /** [N, C, S] written when given: dL/dx through xhat and the batch statistics. */
  dX?: T;
  N: number;
  C: number;
  S: number;
  eps: number;
}

interface Shape {
  N: number;
  C: number;
  S: number;
}

/** Calls visit(i) for the flat index i of every value of channel c, n outer, s inner. */
function forEachInChannel({ N, C, S }: Shape, c: number, visit: (i: number) => void): void {
  for (let n = 0; n < N; n++) {
    for (let s = 0, i = (n * C + c) * S; s < S; s++, i++) visit(i);
  }
}

const at = (a: FloatArray, i: number): number => a[i] ?? 0;

/** mean[c] = sum x / M, then variance[c] = sum (x - mean[c])^2 / M: two passes, as the GPU. */
export function batchNormStatsCpu(args: BatchNormStatsArgs<FloatArray>): void {
  const { x, mean, variance, N, C, S } = args;
  const M = N * S;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    forEachInChannel(args, c, (i) => (sum += at(x, i)));
    const channelMean = sum / M;
    let squares = 0;
    forEachInChannel(args, c, (i) => (squares += (at(x, i) - channelMean) ** 2));
    mean[c] = channelMean;
    variance[c] = squares / M;
  }
}

/** y = f((x - mean[c]) / sqrt(variance[c] + eps) * weight[c] + bias[c]). */
export function batchNormForwardCpu(args: BatchNormForwardArgs<FloatArray>): void {
  const { x, mean, variance, weight, bias, y, C, eps, activation = 'none' } = args;
  for (let c = 0; c < C; c++) {
    const scale = at(weight, c) / Math.sqrt(at(variance, c) + eps);
    const [shift, beta] = [at(mean, c), at(bias, c)];
    const normalize = (i: number): number => (at(x, i) - shift) * scale + beta;
    forEachInChannel(args, c, (i) => (y[i] = activateCpu(normalize(i), activation)));
  }
}

/** Throws unless count (values per channel) allows the unbiased variance, as torch does. */
export function checkRunningCount(label: string, count: number): void {
  if (!Number.isInteger(count) || count < 2)
    throw new ShadergradError(
      `${label}: count = ${count} values per channel; training-mode batch norm needs at least 2 ` +
        '(the running variance is unbiased, divided by count - 1), as torch requires',
    );
}

/** torch.nn.BatchNorm's running averages; the variance is made unbiased, times count/(count-1). */
export function batchNormRunningUpdateCpu(args: BatchNormRunningUpdateArgs<FloatArray>): void {
  const { mean, variance, runningMean, runningVar, C, count, momentum } = args;
  checkRunningCount('batchNorm.batchNormRunningUpdateCpu', count);
  for (let c = 0; c < C; c++) {
    const unbiased = (at(variance, c) * count) / (count - 1);
    runningMean[c] = (1 - momentum) * at(runningMean, c) + momentum * at(mean, c);
    runningVar[c] = (1 - momentum) * at(runningVar, c) + momentum * unbiased;
  }
}

/**
 * With xhat = (x - mean) invStd, y = xhat w + b, and mean, variance those of the batch:
 * dBias = sum dY, dWeight = sum dY xhat, and (the statistics depend on every x of the channel)
 * dX = w invStd / M (M dY - dBias - xhat dWeight).
 */
export function batchNormBackwardCpu(args: BatchNormBackwardArgs<FloatArray>): void {
  const { x, dY, mean, variance, weight, dWeight, dBias, dX, N, C, S, eps } = args;
  const M = N * S;
  for (let c = 0; c < C; c++) {
    const invStd = 1 / Math.sqrt(at(variance, c) + eps);
    const xhat = (i: number): number => (at(x, i) - at(mean, c)) * invStd;
    let [sumDy, sumDyXhat] = [0, 0];
    forEachInChannel(args, c, (i) => {
      sumDy += at(dY, i);
      sumDyXhat += at(dY, i) * xhat(i);
    });
    dBias[c] = sumDy;
    dWeight[c] = sumDyXhat;
    if (!dX) continue;
    const scale = (at(weight, c) * invStd) / M;
    const grad = (i: number): number => scale * (M * at(dY, i) - sumDy - xhat(i) * sumDyXhat);
    forEachInChannel(args, c, (i) => (dX[i] = grad(i)));
  }
}
