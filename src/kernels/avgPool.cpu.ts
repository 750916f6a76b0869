/**
 * CPU twin of shaders/avgPool.wgsl: the spec the GPU kernels are tested against. Forward averages
 * each KH x KW window; backward scatters dOut / (KH * KW) to every element of its window (the GPU
 * gathers instead; the sums agree up to rounding).
 */
import type { FloatArray } from './common.cpu';
import type { PoolGeometry } from './geometry';

export interface AvgPoolForwardArgs<T> {
  /** Input [N, C, H, W]. */
  x: T;
  /** Output [N, C, OH, OW]: the window means. */
  out: T;
  geometry: PoolGeometry;
}

export interface AvgPoolBackwardArgs<T> {
  /** dL/dout [N, C, OH, OW]. */
  dOut: T;
  /** dL/dx [N, C, H, W]. */
  dX: T;
  geometry: PoolGeometry;
}

export function avgPoolForwardCpu({ x, out, geometry: g }: AvgPoolForwardArgs<FloatArray>): void {
  const inPlane = g.H * g.W;
  let o = 0; // output index, row-major over (n, c, oh, ow)
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++, o++) {
        let sum = 0;
        for (let kh = 0; kh < g.KH; kh++) {
          for (let kw = 0; kw < g.KW; kw++)
            sum += x[p * inPlane + (oh * g.strideH + kh) * g.W + ow * g.strideW + kw] ?? 0;
        }
        out[o] = sum / (g.KH * g.KW);
      }
    }
  }
}

/** d out / d x = 1 / (KH * KW) for every x in the window, summed over overlapping windows. */
export function avgPoolBackwardCpu({
  dOut,
  dX,
  geometry: g,
}: AvgPoolBackwardArgs<FloatArray>): void {
  const inPlane = g.H * g.W;
  dX.fill(0);
  let o = 0;
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++, o++) {
        const share = (dOut[o] ?? 0) / (g.KH * g.KW);
        for (let kh = 0; kh < g.KH; kh++) {
          for (let kw = 0; kw < g.KW; kw++) {
            const i = p * inPlane + (oh * g.strideH + kh) * g.W + ow * g.strideW + kw;
            dX[i] = (dX[i] ?? 0) + share;
          }
        }
      }
    }
  }
}
