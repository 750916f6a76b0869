/**
 * CPU twin of shaders/maxPool.wgsl: the spec the GPU kernels are tested against. Forward picks
 * the largest value of each window; ties go to the FIRST maximum in row-major window order, and a
 * NaN is always chosen (the last NaN if several), as in PyTorch's CPU kernel. Backward scatters
 * each dOut to its argmax (the GPU gathers instead; the sums agree up to rounding).
 */
import { activationGradCpu, type Activation, type FloatArray } from './common.cpu';
import type { PoolGeometry } from './geometry';

/** Index arrays: u32 on the GPU, Int32Array or Uint32Array here. */
export type IndexArray = Int32Array | Uint32Array;

export interface MaxPoolForwardArgs<T, U> {
  /** Input [N, C, H, W]. */
  x: T;
  /** Output [N, C, OH, OW]: the window maxima. */
  out: T;
  /** Shape [N, C, OH, OW]: flat index h * W + w of each maximum within its (n, c) plane. */
  argmax: U;
  geometry: PoolGeometry;
}

export interface MaxPoolBackwardArgs<T, U> {
  /** dL/dout [N, C, OH, OW]. */
  dOut: T;
  /** The forward's argmax [N, C, OH, OW]. */
  argmax: U;
  /** dL/dx [N, C, H, W]; dL/d(pre-activation) when `activation` is set. */
  dX: T;
  geometry: PoolGeometry;
  /**
   * The activation f that produced x (x = f(pre)), folded into the gradient: dX then holds
   * f'(pre) times the pooled gradient. Needs the forward's `out`, which f' is read from.
   */
  activation?: Activation;
  /** The forward's out [N, C, OH, OW]; required when `activation` is set and not 'none'. */
  out?: T;
}

export function maxPoolForwardCpu({
  x,
  out,
  argmax,
  geometry: g,
}: MaxPoolForwardArgs<FloatArray, IndexArray>): void {
  const inPlane = g.H * g.W;
  let o = 0; // output index, row-major over (n, c, oh, ow)
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++, o++) {
        let bestIndex = oh * g.strideH * g.W + ow * g.strideW;
        let best = x[p * inPlane + bestIndex] ?? 0;
        for (let kh = 0; kh < g.KH; kh++) {
          for (let kw = 0; kw < g.KW; kw++) {
            const index = (oh * g.strideH + kh) * g.W + ow * g.strideW + kw;
            const v = x[p * inPlane + index] ?? 0;
            // Strict > keeps the first of equal maxima; a NaN always takes over.
            if (v > best || Number.isNaN(v)) [best, bestIndex] = [v, index];
          }
        }
        out[o] = best;
        argmax[o] = bestIndex;
      }
    }
  }
}

/** dL/dx = sum of dOut over the windows whose argmax is x (the max is locally the identity). */
export function maxPoolBackwardCpu({
  dOut,
  argmax,
  dX,
  geometry: g,
  activation = 'none',
  out,
}: MaxPoolBackwardArgs<FloatArray, IndexArray>): void {
  const inPlane = g.H * g.W;
  const outPlane = g.OH * g.OW;
  const chosen = (p: number, o: number): number => p * inPlane + (argmax[p * outPlane + o] ?? 0);
  dX.fill(0);
  for (let p = 0; p < g.N * g.C; p++)
    for (let o = 0; o < outPlane; o++)
      dX[chosen(p, o)] = (dX[chosen(p, o)] ?? 0) + (dOut[p * outPlane + o] ?? 0);
  if (activation === 'none') return;
  if (!out) throw new Error('maxPoolBackwardCpu: a fused activation needs the forward out');
  // A chosen element equals its window's output, so f' is read from there, once per element.
  const done = new Uint8Array(dX.length);
  for (let p = 0; p < g.N * g.C; p++)
    for (let o = 0; o < outPlane; o++) {
      const i = chosen(p, o);
      if (done[i]) continue;
      done[i] = 1;
      dX[i] = activationGradCpu(out[p * outPlane + o] ?? 0, dX[i] ?? 0, activation);
    }
}
