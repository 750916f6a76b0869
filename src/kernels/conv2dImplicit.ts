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
 * The same modules also run the forward and the weight gradient (./conv2dImplicitConv.ts, which
 * uses this file's padding, weight transpose and dispatch): conv2d.ts's implicit path, which needs
 * no im2col matrix.
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
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectFloat } from './checks';
import type {
  Conv2dBackwardDataArgs,
  Conv2dPadGradientArgs,
  Conv2dWeightsTransposeArgs,
} from './conv2dImplicit.cpu';
import type { Conv2dGeometry } from './geometry';
import type { KernelFamily } from './family';
import { familyShader, withF16Storage } from './shader';
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

/**
 * `shader` (either family's module) as it reads and writes `padded`, the padded rows: as is for
 * f32, with the PaddedStored alias switched to f16 for an f16 padded x (mixed precision).
 */
export function paddedRowsModule(shader: ShaderSource, padded: GpuTensor): ShaderSource {
  return padded.dtype === 'f16' ? withF16Storage(shader, ['PaddedStored']) : shader;
}

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
export const WG_SIZE = 8;
const TILE_ROWS = 32;

/** The subgroup kernels' `tileRows` for `rows` channels: 32, or fewer rounded up to 8. */
export function tileRowsFor(rows: number): number {
  return Math.min(TILE_ROWS, Math.ceil(rows / 8) * 8);
}
export const ELEMENTWISE_WORKGROUP = 256;

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
export function dispatchProblem(g: Conv2dGeometry): string | undefined {
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

export function packParams(g: Conv2dGeometry, O: number): ArrayBuffer {
  const { N, C, H, W, KH, KW, strideH, strideW, padTop, padLeft, OH, OW } = g;
  const fields = { N, C, H, W, O, KH, KW, strideH, strideW, padTop, padLeft, OH, OW };
  return conv2dImplicitParams.pack({ ...fields, padQuads: padQuads(g) });
}

export function geometryLabel(g: Conv2dGeometry, O: number): string {
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
 * dOutPadded = dOut shifted and zero-padded (paddedGradientShape); also pads x for the forward,
 * into an f16 tensor under mixed precision (each value rounded once).
 */
export function conv2dPadGradient(args: Conv2dPadGradientArgs<GpuTensor>): KernelCall {
  const { geometry: g, O } = args;
  const label = 'conv2dImplicit.conv2dImplicitPadGradient';
  const count = paddedGradientShape(g, O).reduce((a, b) => a * b, 1);
  expectCount(label, 'dOut', args.dOut, g.N * O * g.OH * g.OW);
  expectCount(label, 'dOutPadded', args.dOutPadded, count);
  expectDtype(label, 'dOut', args.dOut, 'f32');
  expectFloat(label, 'dOutPadded', args.dOutPadded);
  return {
    label: `${label}(${geometryLabel(g, O)})`,
    shader: paddedRowsModule(conv2dImplicitShader, args.dOutPadded),
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

export function productDispatch(g: Conv2dGeometry, product: ImplicitProduct) {
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
