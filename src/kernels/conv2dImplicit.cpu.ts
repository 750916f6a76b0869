/**
 * CPU twin of shaders/conv2dImplicit.wgsl: the input gradient of a stride-1 2-D convolution as
 * the GPU computes it (per input element, the outputs whose windows used it, read from a shifted
 * zero-padded copy of dOut), and the weight transpose and padding it reads. Pure: no engine, no
 * WebGPU.
 *
 * Legend: N, C, H, W (x, dX), O, KH, KW (weight, OIHW), OH, OW (dOut); taps t = kh*KW + kw.
 */
import type { FloatArray } from './common.cpu';
import type { Conv2dGeometry } from './geometry';

export interface Conv2dWeightsTransposeArgs<T> {
  /** Weight [O, C, KH, KW]. */
  weight: T;
  /** Output [C, KH*KW, O]. */
  weightCko: T;
  geometry: Conv2dGeometry;
  O: number;
}

export interface Conv2dPadGradientArgs<T> {
  /** dL/dout [N, O, OH, OW]. */
  dOut: T;
  /** Output [N, O, H + KH - 1, PW] (paddedGradientShape in conv2dImplicit.ts). */
  dOutPadded: T;
  geometry: Conv2dGeometry;
  O: number;
}

export interface Conv2dBackwardDataArgs<T> {
  /** The weight as conv2dWeightsTranspose left it, [C, KH*KW, O]. */
  weightCko: T;
  /** dL/dout as conv2dPadGradient left it, [N, O, H + KH - 1, PW]. */
  dOutPadded: T;
  /** Output dL/dx [N, C, H, W]. */
  dX: T;
  geometry: Conv2dGeometry;
  O: number;
}

/** weightCko[c, t, o] = weight[o, c, t]. */
export function conv2dWeightsTransposeCpu(args: Conv2dWeightsTransposeArgs<FloatArray>): void {
  const { weight, weightCko, geometry: g, O } = args;
  const taps = g.KH * g.KW;
  for (let c = 0; c < g.C; c++)
    for (let t = 0; t < taps; t++)
      for (let o = 0; o < O; o++)
        weightCko[(c * taps + t) * O + o] = weight[(o * g.C + c) * taps + t] ?? 0;
}

/**
 * dOutPadded[n, o, r, s] = dOut[n, o, r - (KH-1 - padTop), s - (KW-1 - padLeft)], 0 outside: row
 * h + KH-1 - kh, column w + KW-1 - kw then holds the output that tap (kh, kw) took from x[h, w].
 * The padded width (dOutPadded's last dimension) is read off the array's length.
 */
export function conv2dPadGradientCpu(args: Conv2dPadGradientArgs<FloatArray>): void {
  const { dOut, dOutPadded, geometry: g, O } = args;
  const rows = g.H + g.KH - 1;
  const width = dOutPadded.length / (g.N * O * rows);
  let i = 0;
  for (let plane = 0; plane < g.N * O; plane++)
    for (let r = 0; r < rows; r++)
      for (let s = 0; s < width; s++, i++) {
        const [oh, ow] = [r - (g.KH - 1 - g.padTop), s - (g.KW - 1 - g.padLeft)];
        const inside = oh >= 0 && oh < g.OH && ow >= 0 && ow < g.OW;
        dOutPadded[i] = inside ? (dOut[(plane * g.OH + oh) * g.OW + ow] ?? 0) : 0;
      }
}

/**
 * dX[n,c,h,w] = Σ_{t=(kh,kw), o} weightCko[c, t, o] · dOutPadded[n, o, h + KH-1 - kh, w + KW-1 - kw]
 * (stride 1), float64 sums: the forward's outputs that used x[n,c,h,w], each times its weight.
 */
export function conv2dBackwardDataCpu(args: Conv2dBackwardDataArgs<FloatArray>): void {
  const { weightCko, dOutPadded, dX, geometry: g, O } = args;
  const taps = g.KH * g.KW;
  const rows = g.H + g.KH - 1;
  const width = dOutPadded.length / (g.N * O * rows);
  let i = 0; // dX index, row-major over (n, c, h, w)
  for (let n = 0; n < g.N; n++)
    for (let c = 0; c < g.C; c++)
      for (let h = 0; h < g.H; h++)
        for (let w = 0; w < g.W; w++, i++) {
          let sum = 0;
          for (let t = 0; t < taps; t++) {
            const r = h + g.KH - 1 - Math.floor(t / g.KW);
            const s = w + g.KW - 1 - (t % g.KW);
            for (let o = 0; o < O; o++)
              sum +=
                (weightCko[(c * taps + t) * O + o] ?? 0) *
                (dOutPadded[((n * O + o) * rows + r) * width + s] ?? 0);
          }
          dX[i] = sum;
        }
}

/**
 * The forward's weight [O, C, KH, KW] as the implicit product reads it (conv2dImplicitForward):
 * flipped[o, t, c] = weight[o, c, KH*KW-1 - t], taps reversed, input channels last.
 */
export function conv2dWeightsFlipCpu(args: Conv2dWeightsTransposeArgs<FloatArray>): void {
  const { weight, weightCko: flipped, geometry: g, O } = args;
  const taps = g.KH * g.KW;
  for (let o = 0; o < O; o++)
    for (let t = 0; t < taps; t++)
      for (let c = 0; c < g.C; c++)
        flipped[(o * taps + t) * g.C + c] = weight[(o * g.C + c) * taps + taps - 1 - t] ?? 0;
}

/**
 * The forward's weight by taps (conv2dImplicitForwardTaps, for C % 4 != 0):
 * weightTaps[(c*KH + kh) * O + o, t] = weight[o, c, kh, t] for t < KW, 0 up to 8.
 */
export function conv2dWeightTapsCpu(
  weight: FloatArray,
  weightTaps: FloatArray,
  g: Conv2dGeometry,
  O: number,
): void {
  for (let c = 0; c < g.C; c++)
    for (let kh = 0; kh < g.KH; kh++)
      for (let o = 0; o < O; o++)
        for (let t = 0; t < 8; t++)
          weightTaps[((c * g.KH + kh) * O + o) * 8 + t] =
            t < g.KW ? (weight[((o * g.C + c) * g.KH + kh) * g.KW + t] ?? 0) : 0;
}

export interface Conv2dWeightGradArgs<T> {
  /** dL/dout with rows zero-filled to a whole number of vec4s, [N, O, OH, RW] (RW >= OW). */
  dOutRows: T;
  /** x shifted by the padding, zeros around, [N, C, OH + KH - 1, PW] (inputPaddedShape). */
  xPadded: T;
  /** Output [runs, O, C, KH, KW]: run z sums samples z*run .. z*run + run - 1. */
  dWeightRuns: T;
  geometry: Conv2dGeometry;
  O: number;
  /** Samples per partial sum. */
  run: number;
}

/**
 * dWeightRuns[z, o, c, kh, kw] = Σ over the run's n, oh, ow < RW of
 * dOutRows[n, o, oh, ow] · xPadded[n, c, oh + kh, ow + kw] (stride 1), float64 sums.
 */
export function conv2dWeightGradCpu(args: Conv2dWeightGradArgs<FloatArray>): void {
  const { dOutRows, xPadded, dWeightRuns, geometry: g, O, run } = args;
  const rowWidth = dOutRows.length / (g.N * O * g.OH);
  const rows = g.OH + g.KH - 1;
  const width = xPadded.length / (g.N * g.C * rows);
  const runs = Math.ceil(g.N / run);
  let i = 0; // dWeightRuns index, row-major over (z, o, c, kh, kw)
  for (let z = 0; z < runs; z++)
    for (let o = 0; o < O; o++)
      for (let c = 0; c < g.C; c++)
        for (let kh = 0; kh < g.KH; kh++)
          for (let kw = 0; kw < g.KW; kw++, i++) {
            let sum = 0;
            for (let n = z * run; n < Math.min(g.N, (z + 1) * run); n++)
              for (let oh = 0; oh < g.OH; oh++)
                for (let ow = 0; ow < rowWidth && ow + kw < width; ow++)
                  sum +=
                    (dOutRows[((n * O + o) * g.OH + oh) * rowWidth + ow] ?? 0) *
                    (xPadded[((n * g.C + c) * rows + oh + kh) * width + ow + kw] ?? 0);
            dWeightRuns[i] = sum;
          }
}
