/**
 * Direct 2-D convolution on the CPU: the spec for the GPU conv2d, which is composed from im2col,
 * matmul and col2im. Cross-correlation like PyTorch's conv2d (the kernel is not flipped).
 *
 * Legend: N, C, H, W (input x, NCHW), O (output channels), KH, KW (weight, OIHW), OH, OW (out
 * [N, O, OH, OW]). Geometry (stride, padding) from conv2dGeometry in geometry.ts.
 * Sums are accumulated in float64 and stored once, whatever the array type.
 */
import type { FloatArray } from './common.cpu';
import type { Conv2dGeometry } from './geometry';

export interface Conv2dForwardArgs<T> {
  /** Input [N, C, H, W]. */
  x: T;
  /** Weight [O, C, KH, KW]. */
  weight: T;
  /** Bias [O]; omitted means zero. */
  bias?: T;
  /** Output [N, O, OH, OW]. */
  out: T;
  geometry: Conv2dGeometry;
  /** Output channels. */
  O: number;
}

export interface Conv2dBackwardArgs<T> {
  x: T;
  weight: T;
  /** dL/dout [N, O, OH, OW]. */
  dOut: T;
  /** dL/dx [N, C, H, W]; omitted when x needs no gradient (the first layer). */
  dX?: T;
  /** dL/dweight [O, C, KH, KW]. */
  dWeight: T;
  /** dL/dbias [O]; omitted for a conv without bias. */
  dBias?: T;
  geometry: Conv2dGeometry;
  O: number;
}

/**
 * Calls visit(outIndex, weightIndex, xIndex) for every product weight[o, c, kh, kw] *
 * x[n, c, oh*sH - padTop + kh, ow*sW - padLeft + kw] that lands inside x (padding adds zeros).
 */
function forEachTap(
  g: Conv2dGeometry,
  O: number,
  visit: (oi: number, wi: number, xi: number) => void,
): void {
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++)
          for (let c = 0; c < g.C; c++)
            for (let kh = 0; kh < g.KH; kh++)
              for (let kw = 0; kw < g.KW; kw++) {
                const h = oh * g.strideH - g.padTop + kh;
                const w = ow * g.strideW - g.padLeft + kw;
                if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                const oi = ((n * O + o) * g.OH + oh) * g.OW + ow;
                visit(
                  oi,
                  ((o * g.C + c) * g.KH + kh) * g.KW + kw,
                  ((n * g.C + c) * g.H + h) * g.W + w,
                );
              }
}

/**
 * out[n, o, oh, ow] = bias[o]
 *   + sum_{c, kh, kw} weight[o, c, kh, kw] * x[n, c, oh*sH - padTop + kh, ow*sW - padLeft + kw].
 */
export function conv2dForwardCpu(args: Conv2dForwardArgs<FloatArray>): void {
  const { x, weight, bias, out, geometry, O } = args;
  const plane = geometry.OH * geometry.OW;
  const acc = new Float64Array(out.length);
  for (let i = 0; i < acc.length; i++) acc[i] = bias?.[Math.floor(i / plane) % O] ?? 0;
  forEachTap(geometry, O, (oi, wi, xi) => {
    acc[oi] = (acc[oi] ?? 0) + (weight[wi] ?? 0) * (x[xi] ?? 0);
  });
  out.set(acc);
}

/**
 * Each product w*x of the forward sends dOut back to both factors: dX[xi] += weight[wi] * dOut[oi]
 * and dWeight[wi] += x[xi] * dOut[oi]; bias is added to every output, so dBias[o] = sum dOut[:, o].
 */
export function conv2dBackwardCpu(args: Conv2dBackwardArgs<FloatArray>): void {
  const { x, weight, dOut, dX, dWeight, dBias, geometry, O } = args;
  const dXAcc = new Float64Array(dX?.length ?? 0);
  const dWAcc = new Float64Array(dWeight.length);
  forEachTap(geometry, O, (oi, wi, xi) => {
    const d = dOut[oi] ?? 0;
    if (dX) dXAcc[xi] = (dXAcc[xi] ?? 0) + (weight[wi] ?? 0) * d;
    dWAcc[wi] = (dWAcc[wi] ?? 0) + (x[xi] ?? 0) * d;
  });
  dX?.set(dXAcc);
  dWeight.set(dWAcc);
  if (!dBias) return;
  const plane = geometry.OH * geometry.OW;
  const dBAcc = new Float64Array(O);
  for (let i = 0; i < dOut.length; i++) {
    const o = Math.floor(i / plane) % O;
    dBAcc[o] = (dBAcc[o] ?? 0) + (dOut[i] ?? 0);
  }
  dBias.set(dBAcc);
}
