/** CPU twin of shaders/bias.wgsl: the spec the GPU kernels are tested against. Layout [N, C, S]. */
import { activateCpu, type Activation, type FloatArray } from './common.cpu';

export interface BiasAddForwardArgs<T> {
  /** [N, C, S], updated in place to f(x + bias). */
  x: T;
  /** [C] */
  bias: T;
  N: number;
  C: number;
  /** Spatial size per channel: H*W, or 1 for dense layers. */
  S: number;
  /** Applied after the add; default 'none'. */
  activation?: Activation;
}

export interface BiasBackwardArgs<T> {
  /** [N, C, S], dL/d(x + bias) (before any activation: run its backward first). */
  dOut: T;
  /** [C] */
  dBias: T;
  N: number;
  C: number;
  S: number;
}

export function biasAddForwardCpu({
  x,
  bias,
  N,
  C,
  S,
  activation = 'none',
}: BiasAddForwardArgs<FloatArray>): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const b = bias[c] ?? 0;
      for (let s = 0, i = (n * C + c) * S; s < S; s++, i++)
        x[i] = activateCpu((x[i] ?? 0) + b, activation);
    }
  }
}

/** dBias[c] = sum over n, s of dOut[n, c, s]: the bias is broadcast over batch and space. */
export function biasBackwardCpu({ dOut, dBias, N, C, S }: BiasBackwardArgs<FloatArray>): void {
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0, i = (n * C + c) * S; s < S; s++, i++) sum += dOut[i] ?? 0;
    }
    dBias[c] = sum;
  }
}
