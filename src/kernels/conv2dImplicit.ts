/**
 * The input gradient of a 2-D convolution as an implicit matrix product
 * (shaders/conv2dImplicit.wgsl): dX = col2im(Wᵀ · dOut) without the dCols matrix in between,
 * dOut gathered per tap straight into the product's registers. conv2dWeightsTranspose first lays
 * the weight out as [C, KH*KW, O] so the product reads 4 output channels as one vec4.
 * Layout NCHW, weight OIHW; legend N,C,H,W -> O,OH,OW as in conv2d.ts.
 * Needs O % 4 == 0, and the device feature `subgroups` for the subgroupTile kernel
 * (`implicitBackwardDataProblem`); conv2d.ts falls back to matmul + col2im otherwise. Two
 * families: conv2dImplicit (shaders/conv2dImplicit.wgsl, any device) with
 * conv2dImplicitBackwardDataTile (16 channels x 8 positions per lane, nothing shared: SwiftShader's
 * 4-lane subgroups cannot share), conv2dImplicitWeightsTranspose and conv2dImplicitPadGradient;
 * and conv2dImplicitSubgroup (that file, then shaders/conv2dImplicitSubgroup.wgsl, with
 * `subgroups` enabled) with conv2dImplicitBackwardData (32 channels x 4 positions per lane, op(A)
 * shared across a subgroup as in matmulSubgroupTile). Overrides wgSize, workgroupSize.
 * The same module also runs the forward (conv2dImplicitForward: the product with the roles
 * swapped, on x padded and the weight flipped) and the weight gradient (conv2dImplicitWeightGrad,
 * from the forward's padded x): conv2d.ts's implicit path, which needs no im2col matrix.
 */
import {
  MAX_WORKGROUPS_PER_DIMENSION,
  ceilDiv,
  dispatchFor,
  type KernelCall,
} from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import type { ShaderSource } from '../gpu/pipelines';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype } from './checks';
import type {
  Conv2dBackwardDataArgs,
  Conv2dPadGradientArgs,
  Conv2dWeightsTransposeArgs,
} from './conv2dImplicit.cpu';
import { activationCode, type Activation } from './common.cpu';
import type { Conv2dGeometry } from './geometry';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/conv2dImplicit.wgsl?raw';
import subgroupSource from '../../shaders/conv2dImplicitSubgroup.wgsl?raw';

export const conv2dImplicitShader = familyShader('conv2dImplicit', source);

const subgroupBase = familyShader('conv2dImplicitSubgroup', subgroupSource, source);
/** `enable` must precede every declaration, so it goes ahead of common.wgsl. */
export const conv2dImplicitSubgroupShader: ShaderSource = {
  ...subgroupBase,
  code: `enable subgroups;\n${subgroupBase.code}`,
  prefixLines: subgroupBase.prefixLines + 1,
};

export const conv2dImplicitParams = defineParams('Params', {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  O: 'u32',
  KH: 'u32',
  KW: 'u32',
  strideH: 'u32',
  strideW: 'u32',
  padTop: 'u32',
  padLeft: 'u32',
  OH: 'u32',
  OW: 'u32',
  padQuads: 'u32',
});

/** Lanes per workgroup of the product: llvmpipe's SIMD width, as for matmulSubgroupTile. */
const WG_SIZE = 8;
const TILE_ROWS = 32;

/** The subgroup kernels' `tileRows` for `rows` channels: 32, or fewer rounded up to 8. */
function tileRowsFor(rows: number): number {
  return Math.min(TILE_ROWS, Math.ceil(rows / 8) * 8);
}
const ELEMENTWISE_WORKGROUP = 256;

/**
 * vec4s per row of the padded gradient: the row's quads, rounded up to whole pairs (a register
 * tile lane reads two), plus the KW - 1 columns a lane slides over.
 */
function padQuads(g: Conv2dGeometry): number {
  const pairs = Math.ceil(Math.ceil(g.W / 4) / 2);
  return 2 * pairs + 1 + Math.max(0, Math.floor((g.KW - 2) / 4));
}

/** Channels and position pairs (8 positions of a row) per invocation of the register tile. */
const LANE_ROWS = 16;
const TILE_WG_SIZE = 8;

/**
 * Why the implicit product's `product` kernel cannot run this convolution on a device with (or
 * without) the subgroups feature, or undefined when it can.
 */
export function implicitBackwardDataProblem(
  g: Conv2dGeometry,
  O: number,
  hasSubgroups: boolean,
  product: ImplicitProduct = 'subgroupTile',
): string | undefined {
  if (product === 'subgroupTile' && !hasSubgroups)
    return 'the device lacks the subgroups feature (the registerTile kernel does without)';
  if (O % 4 !== 0) return `needs O % 4 == 0 (O = ${O})`;
  if (g.strideH !== 1 || g.strideW !== 1) return `needs stride 1 (${g.strideH}x${g.strideW})`;
  if (g.padTop >= g.KH || g.padLeft >= g.KW)
    return `needs padding below the kernel size (${g.padTop},${g.padLeft} for ${g.KH}x${g.KW})`;
  return dispatchProblem(g);
}

/** Why the product's grid (rows of channels, quads of positions) cannot hold `g`, or undefined. */
function dispatchProblem(g: Conv2dGeometry): string | undefined {
  const positionQuads = g.H * Math.ceil(g.W / 4);
  if (ceilDiv(g.C, LANE_ROWS) > MAX_WORKGROUPS_PER_DIMENSION) return `C = ${g.C} is too many rows`;
  if (ceilDiv(positionQuads, WG_SIZE) > MAX_WORKGROUPS_PER_DIMENSION)
    return `an ${g.H}x${g.W} input is too many positions`;
  return undefined;
}

/** Shape [C, KH*KW, O]: the weight as the implicit product reads it. */
export function weightCkoShape(g: Conv2dGeometry, O: number): [number, number, number] {
  return [g.C, g.KH * g.KW, O];
}

/** Shape [N, O, H + KH - 1, PW]: dOut shifted and zero-padded so every read of the product is inside. */
export function paddedGradientShape(
  g: Conv2dGeometry,
  O: number,
): [number, number, number, number] {
  return [g.N, O, g.H + g.KH - 1, 4 * padQuads(g)];
}

function packParams(g: Conv2dGeometry, O: number): ArrayBuffer {
  const { N, C, H, W, KH, KW, strideH, strideW, padTop, padLeft, OH, OW } = g;
  const fields = { N, C, H, W, O, KH, KW, strideH, strideW, padTop, padLeft, OH, OW };
  return conv2dImplicitParams.pack({ ...fields, padQuads: padQuads(g) });
}

function geometryLabel(g: Conv2dGeometry, O: number): string {
  return `[${g.N}, ${g.C}, ${g.H}, ${g.W}] -> O=${O} k${g.KH}x${g.KW} s${g.strideH}x${g.strideW} p${g.padTop},${g.padLeft}`;
}

/**
 * weightCko = the weight as [C, KH*KW, O]; with `flipForForward`, the forward's weight laid out
 * for conv2dImplicitForward (geometry and O in the product's terms: forwardProductGeometry).
 */
export function conv2dWeightsTranspose(
  args: Conv2dWeightsTransposeArgs<GpuTensor>,
  flipForForward = false,
): KernelCall {
  const { geometry: g, O } = args;
  const label = 'conv2dImplicit.conv2dWeightsTranspose';
  const count = O * g.C * g.KH * g.KW;
  expectCount(label, 'weight', args.weight, count);
  expectCount(label, 'weightCko', args.weightCko, count);
  expectDtype(label, 'weight', args.weight, 'f32');
  expectDtype(label, 'weightCko', args.weightCko, 'f32');
  const what = flipForForward ? 'flipped for the forward, ' : '';
  return {
    label: `conv2dImplicit.conv2dImplicitWeightsTranspose(${what}${geometryLabel(g, O)})`,
    shader: conv2dImplicitShader,
    entryPoint: 'conv2dImplicitWeightsTranspose',
    constants: { workgroupSize: ELEMENTWISE_WORKGROUP, flipForForward: flipForForward ? 1 : 0 },
    tensors: [args.weight, args.weightCko],
    params: packParams(g, O),
    workgroups: dispatchFor(count, ELEMENTWISE_WORKGROUP),
  };
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

export function conv2dPadGradient(args: Conv2dPadGradientArgs<GpuTensor>): KernelCall {
  const { geometry: g, O } = args;
  const label = 'conv2dImplicit.conv2dImplicitPadGradient';
  const count = paddedGradientShape(g, O).reduce((a, b) => a * b, 1);
  expectCount(label, 'dOut', args.dOut, g.N * O * g.OH * g.OW);
  expectCount(label, 'dOutPadded', args.dOutPadded, count);
  expectDtype(label, 'dOut', args.dOut, 'f32');
  expectDtype(label, 'dOutPadded', args.dOutPadded, 'f32');
  return {
    label: `${label}(${geometryLabel(g, O)})`,
    shader: conv2dImplicitShader,
    entryPoint: 'conv2dImplicitPadGradient',
    constants: { workgroupSize: ELEMENTWISE_WORKGROUP },
    tensors: [args.dOut, args.dOutPadded],
    params: packParams(g, O),
    workgroups: dispatchFor(g.N * O * (g.H + g.KH - 1), ELEMENTWISE_WORKGROUP), // one per row
  };
}

/**
 * The implicit product's two kernels: `subgroupTile` (conv2dImplicitBackwardData, 32 channels x 4
 * positions per lane, weights shared across a subgroup) and `registerTile`
 * (conv2dImplicitBackwardDataTile, 16 channels x 8 positions per lane, nothing shared).
 */
export type ImplicitProduct = 'subgroupTile' | 'registerTile';

export const IMPLICIT_PRODUCTS: readonly ImplicitProduct[] = ['subgroupTile', 'registerTile'];

function productDispatch(g: Conv2dGeometry, product: ImplicitProduct) {
  const quads = Math.ceil(g.W / 4);
  const tiled = product === 'registerTile';
  const entryPoint = tiled ? 'conv2dImplicitBackwardDataTile' : 'conv2dImplicitBackwardData';
  const shader = tiled ? conv2dImplicitShader : conv2dImplicitSubgroupShader;
  const wgSize = tiled ? TILE_WG_SIZE : WG_SIZE;
  const lanes = g.H * (tiled ? Math.ceil(quads / 2) : quads);
  const workgroups: [number, number, number] = [
    ceilDiv(g.C, tiled ? LANE_ROWS : tileRowsFor(g.C)),
    ceilDiv(lanes, wgSize),
    Math.min(g.N, MAX_WORKGROUPS_PER_DIMENSION),
  ];
  const constants: Record<string, number> = tiled
    ? { wgSize }
    : { wgSize, tileRows: tileRowsFor(g.C) };
  return { shader, entryPoint, constants, workgroups };
}

export function conv2dBackwardData(
  args: Conv2dBackwardDataArgs<GpuTensor>,
  product: ImplicitProduct = 'subgroupTile',
): KernelCall {
  const { geometry: g, O } = args;
  const { shader, entryPoint, constants, workgroups } = productDispatch(g, product);
  const label = `${shader.name}.${entryPoint}`;
  const problem = implicitBackwardDataProblem(g, O, true, product);
  if (problem !== undefined) throw new ShadergradError(`${label}: ${problem}`);
  expectCount(label, 'weightCko', args.weightCko, O * g.C * g.KH * g.KW);
  const padded = paddedGradientShape(g, O).reduce((a, b) => a * b, 1);
  expectCount(label, 'dOutPadded', args.dOutPadded, padded);
  expectCount(label, 'dX', args.dX, g.N * g.C * g.H * g.W);
  expectDtype(label, 'weightCko', args.weightCko, 'f32');
  expectDtype(label, 'dOutPadded', args.dOutPadded, 'f32');
  expectDtype(label, 'dX', args.dX, 'f32');
  if (args.weightCko.byteOffset % 16 !== 0 || args.dOutPadded.byteOffset % 16 !== 0)
    throw new ShadergradError(
      `${label}: weightCko and dOutPadded must start on 16-byte boundaries`,
    );
  return {
    label: `${label}(${geometryLabel(g, O)})`,
    shader,
    entryPoint,
    constants,
    // The subgroupTile module's product reads biasIn only for the forward: the weight stands in.
    tensors:
      product === 'subgroupTile'
        ? [args.weightCko, args.dOutPadded, args.weightCko, args.dX]
        : [args.weightCko, args.dOutPadded, args.dX],
    params: packParams(g, O),
    workgroups,
  };
}

// ---- the forward and the weight gradient by the implicit product (subgroupTile module)

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
 * out = act(conv(x, weight) + bias) by the implicit product: the weight flipped, x padded, then
 * conv2dImplicitForward (the dX product with the forward's roles, and a bias + activation
 * epilogue).
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
    label: `conv2dImplicitSubgroup.${entryPoint}(${geometryLabel(g, O)}${args.bias ? ', bias' : ''}, ${args.activation ?? 'none'})`,
    shader: conv2dImplicitSubgroupShader,
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
  /** Scratch outputRowsShape. */
  dOutRows: GpuTensor;
  /** Output [runs, O, C*KH*KW] (one run: dWeight itself). */
  dWeightRuns: GpuTensor;
  geometry: Conv2dGeometry;
  O: number;
  /** Samples per partial sum: runs = ceil(N / run). */
  run: number;
}

/**
 * dWeight's partial sums straight from the padded input: dOut's rows zero-filled to whole vec4s,
 * then conv2dImplicitWeightGrad (shaders/conv2dImplicitSubgroup.wgsl).
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
  const rows = outputRowsGeometry(g);
  const rowsShape = outputRowsShape(g, O);
  const tileRows = tileRowsFor(O);
  const pad = conv2dPadGradient({ dOut: args.dOut, dOutPadded: args.dOutRows, geometry: rows, O });
  const params = weightGradParams.pack({
    N: g.N,
    C: g.C,
    O,
    OH: g.OH,
    OWq: Math.ceil(g.OW / 4),
    dyRowQuads: rowsShape[3] / 4,
    PH: xShape[2],
    xRowQuads: xShape[3] / 4,
    KH: g.KH,
    KW: g.KW,
    run,
  });
  const product: KernelCall = {
    label: `${label}(${geometryLabel(g, O)}, ${runs} run${runs > 1 ? 's' : ''} of ${run})`,
    shader: conv2dImplicitSubgroupShader,
    entryPoint: 'conv2dImplicitWeightGrad',
    constants: { wgSize: WG_SIZE, tileRows },
    tensors: [args.dOutRows, args.xPadded, args.dWeightRuns],
    params,
    workgroups: [ceilDiv(O, tileRows), ceilDiv(g.C * g.KH, WG_SIZE), runs],
  };
  const padLabel = `conv2dImplicit.conv2dImplicitPadGradient(dOut rows of ${geometryLabel(g, O)})`;
  return [{ ...pad, label: padLabel }, product];
}

export const conv2dImplicitFamily: KernelFamily = {
  name: 'conv2dImplicit',
  shader: conv2dImplicitShader,
  entryPoints: {
    conv2dImplicitWeightsTranspose: conv2dImplicitParams,
    conv2dImplicitWeightTaps: conv2dImplicitParams,
    conv2dImplicitPadGradient: conv2dImplicitParams,
    conv2dImplicitBackwardDataTile: conv2dImplicitParams,
  },
};

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
