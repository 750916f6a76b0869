/**
 * A convolution's forward and weight gradient by conv2dImplicit's products (the subgroupTile
 * module, shaders/conv2dImplicitSubgroup.wgsl): conv2d.ts's implicit path, which makes no im2col
 * matrix. The forward is the input-gradient product with the roles swapped, on x padded and the
 * weight flipped (conv2dImplicitForward), or, for input channels that are not a multiple of 4,
 * 4 taps per vec4 on the weight by taps (conv2dImplicitForwardTaps); the weight gradient reads the
 * forward's padded x again (conv2dImplicitWeightGrad). The shared pieces (padding, the weight
 * transpose, the product's dispatch) are ./conv2dImplicit.ts's.
 * Layout NCHW, weight OIHW; legend N,C,H,W -> O,OH,OW as in conv2d.ts.
 */
import {
  MAX_WORKGROUPS_PER_DIMENSION,
  ceilDiv,
  dispatchFor,
  type KernelCall,
} from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectFloat } from './checks';
import { activationCode, type Activation } from './common.cpu';
import type { Conv2dGeometry } from './geometry';
import type { KernelFamily } from './family';
import {
  ELEMENTWISE_WORKGROUP,
  WG_SIZE,
  conv2dImplicitParams,
  conv2dImplicitShader,
  conv2dImplicitSubgroupShader,
  conv2dPadGradient,
  conv2dWeightsTranspose,
  dispatchProblem,
  geometryLabel,
  packParams,
  paddedGradientShape,
  paddedRowsModule,
  productDispatch,
  tileRowsFor,
  weightCkoShape,
} from './conv2dImplicit';

/**
 * The forward as the implicit product sees it: rows are the forward's output channels, the sum
 * runs over its input channels (the product's O) and taps, positions are its output's, and the
 * padded rows are x shifted by the forward's padding (the product's KH-1 - padTop).
 */
export function forwardProductGeometry(g: Conv2dGeometry, O: number): Conv2dGeometry {
  return {
    N: g.N,
    C: O,
    H: g.OH,
    W: g.OW,
    KH: g.KH,
    KW: g.KW,
    strideH: 1,
    strideW: 1,
    padTop: g.KH - 1 - g.padTop,
    padLeft: g.KW - 1 - g.padLeft,
    OH: g.H,
    OW: g.W,
  };
}

/** The labels' mention of an f16 padded x (mixed precision). */
function halfLabel(xPadded: GpuTensor): string {
  return xPadded.dtype === 'f16' ? ', x stored as f16' : '';
}

/** Widest kernel the weight-gradient kernel takes: two blocks of 4 taps per row. */
const MAX_IMPLICIT_KW = 8;

/**
 * Why the forward and weight gradient cannot take the implicit product here, or undefined when
 * they can: they need the subgroups feature, stride 1, padding below the kernel size and KW <= 8.
 * With C % 4 == 0 the forward sums 4 input channels at a time (conv2dImplicitForward's product),
 * else 4 taps at a time (conv2dImplicitForwardTaps, a first layer's 1 or 3 channels).
 */
export function implicitConvProblem(
  g: Conv2dGeometry,
  O: number,
  hasSubgroups: boolean,
): string | undefined {
  if (!hasSubgroups) return 'the device lacks the subgroups feature';
  if (g.strideH !== 1 || g.strideW !== 1) return `needs stride 1 (${g.strideH}x${g.strideW})`;
  if (g.padTop >= g.KH || g.padLeft >= g.KW)
    return `needs padding below the kernel size (${g.padTop},${g.padLeft} for ${g.KH}x${g.KW})`;
  if (g.KW > MAX_IMPLICIT_KW) return `needs KW <= ${MAX_IMPLICIT_KW} (KW = ${g.KW})`;
  if (ceilDiv(g.C * g.KH, WG_SIZE) > MAX_WORKGROUPS_PER_DIMENSION)
    return `C * KH = ${g.C * g.KH} is too many rows`;
  // Both forms dispatch as the product does: its rows are the output channels, its positions the
  // output's (stride and padding, checked above, are the product's only other needs).
  return dispatchProblem(forwardProductGeometry(g, O));
}

/** Whether the forward sums 4 taps at a time (conv2dImplicitForwardTaps): C % 4 != 0. */
export function forwardByTaps(g: Conv2dGeometry): boolean {
  return g.C % 4 !== 0;
}

/** Shape [N, C, OH + KH - 1, PW]: x shifted by the padding, zeros around, for both products. */
export function inputPaddedShape(g: Conv2dGeometry, O: number): [number, number, number, number] {
  return paddedGradientShape(forwardProductGeometry(g, O), g.C);
}

/**
 * Shape of the forward's weight as its kernel reads it: flipped, [O, KH*KW, C]
 * (conv2dImplicitForward), or by taps, [C*KH, O, 8] (conv2dImplicitForwardTaps, forwardByTaps).
 */
export function weightForwardShape(g: Conv2dGeometry, O: number): [number, number, number] {
  if (forwardByTaps(g)) return [g.C * g.KH, O, 8];
  return weightCkoShape(forwardProductGeometry(g, O), g.C);
}

/** dOut's rows zero-filled to whole vec4s, as conv2dPadGradient writes them with a 1x1 kernel. */
function outputRowsGeometry(g: Conv2dGeometry): Conv2dGeometry {
  const { N, C, OH, OW } = g;
  const unit = { KH: 1, KW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 };
  return { N, C, H: OH, W: OW, OH, OW, ...unit };
}

/** Shape [N, O, OH, RW]: dOut with its rows zero-filled to RW columns, a multiple of 4. */
export function outputRowsShape(g: Conv2dGeometry, O: number): [number, number, number, number] {
  return paddedGradientShape(outputRowsGeometry(g), O);
}

/**
 * Whether the weight gradient zero-fills dOut's rows into a dOutRows scratch first: where OW % 4
 * != 0. Rows of whole vec4s are read from dOut in place (the reference CNN's conv1, 28 wide: a
 * 7.3 MB copy at batch 64, 2.4 ms on lavapipe, saved).
 */
export function weightGradPadsRows(g: Conv2dGeometry): boolean {
  return g.OW % 4 !== 0;
}

export interface Conv2dImplicitForwardArgs {
  x: GpuTensor;
  weight: GpuTensor;
  bias?: GpuTensor;
  out: GpuTensor;
  /** Scratch inputPaddedShape: the weight gradient reads it again, so it lives to the backward. */
  xPadded: GpuTensor;
  /** Scratch weightForwardShape. */
  weightForward: GpuTensor;
  geometry: Conv2dGeometry;
  O: number;
  activation?: Activation;
}

/**
 * out = act(conv(x, weight) + bias) by the implicit product: the weight laid out (flipped, or by
 * taps where forwardByTaps), x padded, then conv2dImplicitForward (the dX product with the
 * forward's roles) or conv2dImplicitForwardTaps, with a bias + activation epilogue.
 */
export function conv2dImplicitForward(args: Conv2dImplicitForwardArgs): KernelCall[] {
  const { geometry: g, O } = args;
  const label = 'conv2dImplicitSubgroup.conv2dImplicitForward';
  const problem = implicitConvProblem(g, O, true);
  if (problem !== undefined) throw new ShadergradError(`${label}: ${problem}`);
  const pg = forwardProductGeometry(g, O);
  expectCount(label, 'out', args.out, g.N * O * g.OH * g.OW);
  if (args.bias) expectCount(label, 'bias', args.bias, O);
  const taps = forwardByTaps(g);
  const layout = taps
    ? conv2dWeightTaps(args.weight, args.weightForward, g, O)
    : conv2dWeightsTranspose(
        { weight: args.weight, weightCko: args.weightForward, geometry: pg, O: g.C },
        true,
      );
  const pad = conv2dPadGradient({ dOut: args.x, dOutPadded: args.xPadded, geometry: pg, O: g.C });
  const { constants, workgroups } = productDispatch(pg, 'subgroupTile');
  const entryPoint = taps ? 'conv2dImplicitForwardTaps' : 'conv2dImplicitForward';
  const product: KernelCall = {
    label: `conv2dImplicitSubgroup.${entryPoint}(${geometryLabel(g, O)}${args.bias ? ', bias' : ''}, ${args.activation ?? 'none'}${halfLabel(args.xPadded)})`,
    shader: paddedRowsModule(conv2dImplicitSubgroupShader, args.xPadded),
    entryPoint,
    constants: {
      ...constants,
      hasBias: args.bias ? 1 : 0,
      activation: activationCode[args.activation ?? 'none'],
    },
    tensors: [args.weightForward, args.xPadded, args.bias ?? args.weightForward, args.out],
    params: packParams(pg, g.C),
    workgroups,
  };
  return [
    layout,
    { ...pad, label: `conv2dImplicit.conv2dImplicitPadGradient(x of ${geometryLabel(g, O)})` },
    product,
  ];
}

export const weightGradParams = defineParams('WeightGradParams', {
  N: 'u32',
  C: 'u32',
  O: 'u32',
  OH: 'u32',
  OWq: 'u32',
  dyRowQuads: 'u32',
  PH: 'u32',
  xRowQuads: 'u32',
  KH: 'u32',
  KW: 'u32',
  run: 'u32',
});

export interface Conv2dImplicitWeightGradArgs {
  dOut: GpuTensor;
  /** The forward's padded input (conv2dImplicitForward's xPadded), still holding x. */
  xPadded: GpuTensor;
  /** Scratch outputRowsShape, where weightGradPadsRows (else unused: dOut is read in place). */
  dOutRows?: GpuTensor;
  /** Output [runs, O, C*KH*KW] (one run: dWeight itself). */
  dWeightRuns: GpuTensor;
  geometry: Conv2dGeometry;
  O: number;
  /** Samples per partial sum: runs = ceil(N / run). */
  run: number;
}

/**
 * dWeight's partial sums straight from the padded input: dOut's rows zero-filled to whole vec4s
 * (where they are not already: weightGradPadsRows), then conv2dImplicitWeightGrad
 * (shaders/conv2dImplicitSubgroup.wgsl).
 */
export function conv2dImplicitWeightGrad(args: Conv2dImplicitWeightGradArgs): KernelCall[] {
  const { geometry: g, O, run } = args;
  const label = 'conv2dImplicitSubgroup.conv2dImplicitWeightGrad';
  const problem = implicitConvProblem(g, O, true);
  if (problem !== undefined) throw new ShadergradError(`${label}: ${problem}`);
  const runs = Math.ceil(g.N / run);
  if (runs > MAX_WORKGROUPS_PER_DIMENSION)
    throw new ShadergradError(`${label}: ${runs} partial sums are too many`);
  const xShape = inputPaddedShape(g, O);
  expectCount(label, 'dWeightRuns', args.dWeightRuns, runs * O * g.C * g.KH * g.KW);
  expectCount(label, 'xPadded', args.xPadded, elementCount(xShape));
  expectFloat(label, 'xPadded', args.xPadded);
  const rows = readRows(args, label);
  const tileRows = tileRowsFor(O);
  const params = weightGradParams.pack({
    N: g.N,
    C: g.C,
    O,
    OH: g.OH,
    OWq: Math.ceil(g.OW / 4),
    dyRowQuads: rows.rowQuads,
    PH: xShape[2],
    xRowQuads: xShape[3] / 4,
    KH: g.KH,
    KW: g.KW,
    run,
  });
  const product: KernelCall = {
    label: `${label}(${geometryLabel(g, O)}, ${runs} run${runs > 1 ? 's' : ''} of ${run}${halfLabel(args.xPadded)})`,
    shader: paddedRowsModule(conv2dImplicitSubgroupShader, args.xPadded),
    entryPoint: 'conv2dImplicitWeightGrad',
    constants: { wgSize: WG_SIZE, tileRows },
    tensors: [rows.tensor, args.xPadded, args.dWeightRuns],
    params,
    workgroups: [ceilDiv(O, tileRows), ceilDiv(g.C * g.KH, WG_SIZE), runs],
  };
  return [...rows.calls, product];
}

/** The rows the weight gradient reads (dOut itself, or dOutRows once padded) and their vec4s. */
function readRows(args: Conv2dImplicitWeightGradArgs, label: string) {
  const { geometry: g, O, dOut, dOutRows } = args;
  if (!weightGradPadsRows(g)) return { tensor: dOut, rowQuads: g.OW / 4, calls: [] };
  if (!dOutRows)
    throw new ShadergradError(`${label}: rows of ${g.OW} columns need a dOutRows scratch`);
  const pad = conv2dPadGradient({ dOut, dOutPadded: dOutRows, geometry: outputRowsGeometry(g), O });
  const padLabel = `conv2dImplicit.conv2dImplicitPadGradient(dOut rows of ${geometryLabel(g, O)})`;
  const rowQuads = outputRowsShape(g, O)[3] / 4;
  return { tensor: dOutRows, rowQuads, calls: [{ ...pad, label: padLabel }] };
}

/**
 * The forward's weight by taps for conv2dImplicitForwardTaps: [C*KH, O, 8], row (c, kh) holding
 * each output channel's KW taps, zero-filled to 8 (geometry and O the forward's own).
 */
export function conv2dWeightTaps(
  weight: GpuTensor,
  weightTaps: GpuTensor,
  g: Conv2dGeometry,
  O: number,
): KernelCall {
  const label = 'conv2dImplicit.conv2dImplicitWeightTaps';
  const count = g.C * g.KH * O * 8;
  expectCount(label, 'weight', weight, O * g.C * g.KH * g.KW);
  expectCount(label, 'weightTaps', weightTaps, count);
  expectDtype(label, 'weight', weight, 'f32');
  expectDtype(label, 'weightTaps', weightTaps, 'f32');
  return {
    label: `${label}(${geometryLabel(g, O)})`,
    shader: conv2dImplicitShader,
    entryPoint: 'conv2dImplicitWeightTaps',
    constants: { workgroupSize: ELEMENTWISE_WORKGROUP },
    tensors: [weight, weightTaps],
    params: packParams(g, O),
    workgroups: dispatchFor(count, ELEMENTWISE_WORKGROUP),
  };
}

export const conv2dImplicitSubgroupFamily: KernelFamily = {
  name: 'conv2dImplicitSubgroup',
  shader: conv2dImplicitSubgroupShader,
  entryPoints: {
    conv2dImplicitBackwardData: conv2dImplicitParams,
    conv2dImplicitForward: conv2dImplicitParams,
    conv2dImplicitForwardTaps: conv2dImplicitParams,
    conv2dImplicitWeightGrad: weightGradParams,
  },
};
