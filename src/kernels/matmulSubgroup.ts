/**
 * Subgroup matmul (shaders/matmulSubgroup.wgsl): the full MatmulArgs contract of ./matmul (M,K,N
 * legend, transposes read in place, batch strides, sumBatches, bias row/col, activation) with op(A)
 * shared across a subgroup's lanes by subgroupBroadcast: 32 rows x 4 columns per lane, 8 vec4 loads
 * per 512 FMAs. Needs the device feature `subgroups` (Gpu.hasSubgroups); its own shader module, so
 * matmul.wgsl still compiles on devices without it. Correct for any subgroup size (sizes under 8
 * take a path without broadcasts, see the shader header).
 *
 * Reached through `matmul(args, 'subgroupTile')`, which validates the args (checkMatmulArgs) and
 * comes here only when `subgroupTileHandles` accepts them (vec4-aligned reads); anything else runs
 * matmulRegisterTile. Timings against registerTile are in preferredMatmulVariant's note (./matmul).
 */
import { MAX_WORKGROUPS_PER_DIMENSION, ceilDiv, type KernelCall } from '../gpu/dispatch';
import type { ShaderSource } from '../gpu/pipelines';
import type { GpuTensor } from '../gpu/tensor';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import type { MatmulArgs, matmulStrides } from './matmul.cpu';
import { BIAS_CODE, describeProduct, matmulParams, operandModule } from './matmulParams';
import { familyShader } from './shader';
import source from '../../shaders/matmulSubgroup.wgsl?raw';

const base = familyShader('matmulSubgroup', source);
/** `enable` must precede every declaration, so it goes ahead of common.wgsl. */
export const matmulSubgroupShader: ShaderSource = {
  ...base,
  code: `enable subgroups;\n${base.code}`,
  prefixLines: base.prefixLines + 1,
};
/** The same layout as matmul's: one Params contract for both shaders. */
export const matmulSubgroupParams = matmulParams;

/** Default invocations per workgroup (wgSize): llvmpipe's SIMD width; measured faster than 16 or 32. */
export const SUBGROUP_WG_SIZE = 8;
/** Block of C per workgroup (x: row bands, y: column blocks): tileRows(M) x (wgSize x LANE_COLS). */
const BLOCK_ROWS = 32;
const LANE_COLS = 4;

/**
 * Rows of C per workgroup (the shader's tileRows): 32, or M rounded up to 8 when M < 32, so a
 * product of 16 rows does not compute 16 rows more. Its op(A) slots are shared 8 per lane round.
 */
export function subgroupTileRows(M: number): number {
  return Math.min(BLOCK_ROWS, Math.ceil(M / 8) * 8);
}

type Strides = ReturnType<typeof matmulStrides>;

/**
 * Whether matmulSubgroupTile can run `args`: its vec4 reads need K, the batch strides, M (transA)
 * and N (without transB) to be multiples of 4 and A, B 16-byte aligned; and the grid must fit.
 */
export function subgroupTileHandles(
  args: MatmulArgs<GpuTensor>,
  s: Strides,
  wgSize = SUBGROUP_WG_SIZE,
): boolean {
  const multiples = [args.K, s.aBatchStride, s.bBatchStride];
  if (args.transA) multiples.push(args.M);
  if (!args.transB) multiples.push(args.N);
  return (
    multiples.every((x) => x % 4 === 0) &&
    args.a.byteOffset % 16 === 0 &&
    args.b.byteOffset % 16 === 0 &&
    ceilDiv(args.M, subgroupTileRows(args.M)) <= MAX_WORKGROUPS_PER_DIMENSION &&
    ceilDiv(args.N, wgSize * LANE_COLS) <= MAX_WORKGROUPS_PER_DIMENSION
  );
}

/**
 * The KernelCall for `args`, already validated by checkMatmulArgs (matmul does both, and falls
 * back when subgroupTileHandles is false). Without a bias, A is bound again in the bias slot.
 */
export function matmulSubgroupTile(
  args: MatmulArgs<GpuTensor>,
  s: Strides,
  wgSize = SUBGROUP_WG_SIZE,
): KernelCall {
  const size = wgSize === SUBGROUP_WG_SIZE ? '' : ` ${wgSize}`;
  return {
    label: `matmulSubgroup.matmulSubgroupTile${size}(${describeProduct(args, s)})`,
    shader: operandModule(matmulSubgroupShader, args),
    entryPoint: 'matmulSubgroupTile',
    constants: {
      transA: args.transA ? 1 : 0,
      transB: args.transB ? 1 : 0,
      sumBatches: args.sumBatches ? 1 : 0,
      biasMode: BIAS_CODE[args.bias ? (args.biasMode ?? 'none') : 'none'],
      activation: activationCode[args.activation ?? 'none'],
      wgSize,
      tileRows: subgroupTileRows(args.M),
    },
    tensors: [args.a, args.b, args.bias ?? args.a, args.out],
    params: matmulSubgroupParams.pack({ M: args.M, N: args.N, K: args.K, ...s }),
    workgroups: [
      ceilDiv(args.M, subgroupTileRows(args.M)), // row bands first (x): see the shader's entry point
      ceilDiv(args.N, wgSize * LANE_COLS),
      Math.min(s.outputs, MAX_WORKGROUPS_PER_DIMENSION),
    ],
  };
}

export const matmulSubgroupFamily: KernelFamily = {
  name: 'matmulSubgroup',
  shader: matmulSubgroupShader,
  entryPoints: { matmulSubgroupTile: matmulSubgroupParams },
};
