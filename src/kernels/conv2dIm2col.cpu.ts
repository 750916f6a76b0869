/**
 * CPU twin of shaders/conv2dIm2col.wgsl: the spec the GPU im2col and col2im kernels are tested
 * against. Geometry (output size, padding) from conv2dGeometry in geometry.ts. Pure: no engine,
 * no WebGPU.
 *
 * Legend: N, C, H, W (input, NCHW), KH, KW (kernel), OH, OW (output). cols is
 * [N, C*KH*KW, OH*OW] with row r = (c*KH + kh)*KW + kw and column oh*OW + ow.
 */
import type { FloatArray } from './common.cpu';
import type { Conv2dGeometry } from './geometry';

export interface Im2colArgs<T> {
  /** Input [N, C, H, W]. */
  x: T;
  /** Output [N, C*KH*KW, OH*OW]. */
  cols: T;
  geometry: Conv2dGeometry;
}

export interface Col2imArgs<T> {
  /** Gradient of cols [N, C*KH*KW, OH*OW]. */
  dCols: T;
  /** Output [N, C, H, W]: the sum of every cols entry that copied this input element. */
  dX: T;
  geometry: Conv2dGeometry;
}

/**
 * Calls visit(colIndex, xIndex) for every cols element in memory order, with xIndex = -1 where
 * the window lies over padding. im2col and col2im both walk this, so they are adjoint by design.
 */
function forEachCol(g: Conv2dGeometry, visit: (colIndex: number, xIndex: number) => void): void {
  let colIndex = 0;
  for (let n = 0; n < g.N; n++)
    for (let c = 0; c < g.C; c++)
      for (let kh = 0; kh < g.KH; kh++)
        for (let kw = 0; kw < g.KW; kw++)
          for (let oh = 0; oh < g.OH; oh++)
            for (let ow = 0; ow < g.OW; ow++) {
              const h = oh * g.strideH - g.padTop + kh;
              const w = ow * g.strideW - g.padLeft + kw;
              const inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
              visit(colIndex++, inside ? ((n * g.C + c) * g.H + h) * g.W + w : -1);
            }
}

/**
 * cols[n, (c*KH + kh)*KW + kw, oh*OW + ow] = x[n, c, oh*sH - padTop + kh, ow*sW - padLeft + kw],
 * 0 where that lies in the padding.
 */
export function im2colCpu({ x, cols, geometry }: Im2colArgs<FloatArray>): void {
  forEachCol(geometry, (ci, xi) => {
    cols[ci] = xi < 0 ? 0 : (x[xi] ?? 0);
  });
}

/** The adjoint of im2col: dX[x element] = sum of dCols over the cols entries that copied it. */
export function col2imCpu({ dCols, dX, geometry }: Col2imArgs<FloatArray>): void {
  dX.fill(0);
  forEachCol(geometry, (ci, xi) => {
    if (xi >= 0) dX[xi] = (dX[xi] ?? 0) + (dCols[ci] ?? 0);
  });
}
