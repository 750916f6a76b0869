/**
 * Convolution geometry and the CPU twin of shaders/conv2dIm2col.wgsl: the spec the GPU im2col
 * and col2im kernels are tested against. Pure: no engine, no WebGPU.
 *
 * Legend: N, C, H, W (input, NCHW), KH, KW (kernel), OH, OW (output). cols is
 * [N, C*KH*KW, OH*OW] with row r = (c*KH + kh)*KW + kw and column oh*OW + ow.
 */
import type { FloatArray } from './common.cpu';

/**
 * 'valid': no padding. A number p or [pH, pW]: p zeros on each side, like PyTorch
 * (OH = floor((H + 2p - KH) / stride) + 1). 'same': TensorFlow's rule, OH = ceil(H / stride),
 * total padding max((OH - 1)*stride + KH - H, 0) split with floor(total / 2) on top/left and the
 * extra one on bottom/right. For stride 1 and an odd kernel that is (K - 1)/2 on each side, the
 * same as PyTorch's padding='same'; PyTorch rejects 'same' with stride > 1.
 */
export type Padding = 'same' | 'valid' | number | readonly [number, number];

export interface Conv2dInputShape {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
}

export interface Conv2dGeometry extends Conv2dInputShape {
  readonly KH: number;
  readonly KW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** Zero rows above the input; the rows below are whatever the last window needs. */
  readonly padTop: number;
  /** Zero columns left of the input. */
  readonly padLeft: number;
  readonly OH: number;
  readonly OW: number;
}

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

type Pair = readonly [number, number];

function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : v;
}

function expectSize(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`conv2dGeometry: ${name} = ${value}, expected a whole number >= ${min}`);
  }
}

/** Output size and leading padding along one axis (size H or W, kernel K, stride S). */
function axis(
  name: string,
  size: number,
  K: number,
  S: number,
  padding: 'same' | 'valid' | number,
): Pair {
  if (padding === 'same') {
    const out = Math.ceil(size / S);
    return [out, Math.floor(Math.max((out - 1) * S + K - size, 0) / 2)];
  }
  const pad = padding === 'valid' ? 0 : padding;
  expectSize(`padding (${name})`, pad, 0);
  if (K > size + 2 * pad) {
    throw new RangeError(
      `conv2dGeometry: kernel ${K} is larger than the padded input (${name}: ${size} + 2*${pad})`,
    );
  }
  return [Math.floor((size + 2 * pad - K) / S) + 1, pad];
}

/** The geometry of a 2-D convolution; throws a RangeError naming the bad size. */
export function conv2dGeometry(
  input: Conv2dInputShape,
  kernel: number | Pair,
  stride: number | Pair,
  padding: Padding,
): Conv2dGeometry {
  const [KH, KW] = pair(kernel);
  const [strideH, strideW] = pair(stride);
  const { N, C, H, W } = input;
  const sizes = { N, C, H, W, KH, KW, strideH, strideW };
  for (const [name, value] of Object.entries(sizes)) expectSize(name, value, 1);
  const [padH, padW] = typeof padding === 'string' ? [padding, padding] : pair(padding);
  const [OH, padTop] = axis('height', H, KH, strideH, padH);
  const [OW, padLeft] = axis('width', W, KW, strideW, padW);
  return { ...sizes, padTop, padLeft, OH, OW };
}

/** [N, C*KH*KW, OH*OW]. */
export function im2colShape(g: Conv2dGeometry): [number, number, number] {
  return [g.N, g.C * g.KH * g.KW, g.OH * g.OW];
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
