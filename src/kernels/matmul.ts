/**
 * Matmul kernels (shaders/matmul.wgsl): per batch b, C_b = act(op(A_b) · op(B_b) + bias), with
 * M,K,N legend, row-major f32, op = optional transpose read in place, batch strides (0 broadcasts),
 * an in-kernel sum over batches (deterministic, no atomics) and a fused bias + activation epilogue.
 * Dense layers, their gradients and the im2col convolutions all run through `matmul`.
 *
 * Variants (see the shader header for the algorithms):
 *   naive          one output per invocation, the baseline.
 *   registerTile   16x12 outputs per invocation, no workgroup memory; vec4 loads where rows are
 *                  aligned (matmulEntryPoint). About 10x workgroupTile on lavapipe
 *                  (docs/measurements.md). Its quadK option reads op(A) as vec4s too, 4 k per
 *                  step: 1.5-2x subgroupTile for A·B on SwiftShader, 0.5x on lavapipe, so only
 *                  the tuner picks it.
 *   workgroupTile  32x32 outputs per workgroup through workgroup memory, the classic GPU kernel.
 *   subgroupTile   32x4 outputs per invocation, op(A) shared by subgroupBroadcast (./matmulSubgroup,
 *                  needs the `subgroups` feature); registerTile where its vec4 reads do not align.
 */
import {
  MAX_WORKGROUPS_PER_DIMENSION,
  ceilDiv,
  type KernelCall,
  type Workgroups,
} from '../gpu/dispatch';
import { ShadergradError, type AdapterKind } from '../base/errors';
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectFloat, expectWhole } from './checks';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import { matmulStrides, type MatmulArgs } from './matmul.cpu';
import { SUBGROUP_WG_SIZE, matmulSubgroupTile, subgroupTileHandles } from './matmulSubgroup';
import { BIAS_CODE, describeProduct, matmulParams, operandModule } from './matmulParams';
import { familyShader } from './shader';
import source from '../../shaders/matmul.wgsl?raw';

export type { MatmulArgs } from './matmul.cpu';

/** subgroupTile (./matmulSubgroup) needs the `subgroups` feature; unaligned shapes run registerTile. */
export type MatmulVariant = 'naive' | 'registerTile' | 'workgroupTile' | 'subgroupTile';
type MatmulBaseVariant = Exclude<MatmulVariant, 'subgroupTile'>;

/**
 * One way to run a product: a variant and, where it has them, its workgroup shape (override
 * constants). Unset sizes take the measured defaults (8x8 invocations; 8 for subgroupTile).
 */
export interface MatmulChoice {
  readonly variant: MatmulVariant;
  /** naive and registerTile: invocations along N and M; registerTile's block is 12·wgCols x 16·wgRows. */
  readonly wgCols?: number;
  readonly wgRows?: number;
  /** subgroupTile: invocations per workgroup (at least the subgroup size); block 32 x 4·wgSize. */
  readonly wgSize?: number;
  /**
   * registerTile: 4 k per step with op(A) read as vec4s along k (matmulRegisterTileQuadK), where
   * the product allows it (no transB; K, N, the batch strides and, with transA, M multiples of 4).
   */
  readonly quadK?: boolean;
}

/** Picks a choice per product (the autotuner's table); `variant` decides what is not a product. */
export interface MatmulChooser {
  readonly variant: MatmulVariant;
  choose(args: MatmulArgs<GpuTensor>): MatmulChoice;
}

/** How a layer's products run: one variant for all, or a chooser per product. */
export type MatmulPolicy = MatmulVariant | MatmulChooser;

/** The variant a policy stands for, for decisions beside the product (conv2d's dX path). */
export function policyVariant(policy: MatmulPolicy | undefined): MatmulVariant | undefined {
  return typeof policy === 'object' ? policy.variant : policy;
}

/** "registerTile 16x4", "registerTile 8x8 quadK", "subgroupTile 16": a choice in the tuner's words. */
export function choiceName(c: MatmulChoice): string {
  if (c.variant === 'subgroupTile') return `subgroupTile ${c.wgSize ?? SUBGROUP_WG_SIZE}`;
  if (c.variant === 'workgroupTile') return 'workgroupTile';
  const quadK = c.variant === 'registerTile' && c.quadK === true ? ' quadK' : '';
  return `${c.variant} ${c.wgCols ?? WG_COLS}x${c.wgRows ?? WG_ROWS}${quadK}`;
}

export const matmulShader = familyShader('matmul', source);
export { matmulParams };

/** Default invocations per workgroup (wgCols x wgRows) for every entry point but matmulWorkgroupTile. */
const WG_COLS = 8;
const WG_ROWS = 8;
/** Block of C per workgroup: [rows, cols]. Must match TILE_ROWS/TILE_COLS and WG_TILE in the shader. */
function blockOf(variant: MatmulBaseVariant, wgCols: number, wgRows: number): [number, number] {
  switch (variant) {
    case 'naive':
      return [wgRows, wgCols];
    case 'registerTile':
      return [16 * wgRows, 12 * wgCols];
    case 'workgroupTile':
      return [32, 32];
    default:
      return variant satisfies never;
  }
}

/** Floating-point operations of the product: 2·M·N·K per batch. */
export function matmulFlops(args: { M: number; N: number; K: number; batch?: number }): number {
  return 2 * args.M * args.N * args.K * (args.batch ?? 1);
}

/**
 * How to run a product on an adapter where nothing was tuned, chosen by measurement
 * (docs/measurements.md): software rasterizers run invocations as CPU SIMD lanes where workgroup
 * memory and barriers only cost, so register tiles win there. With `subgroups`, lavapipe shares
 * op(A) across its 8-lane subgroups by broadcast (subgroupTile: 1.3-2.9x registerTile on the
 * reference CNN's products); SwiftShader's subgroups have 4 lanes, too few to share, and there
 * registerTile reading both operands as vec4s along k (quadK; A·Bᵀ takes its Vec4K form anyway)
 * ran the reference CNN's products 1.1-2.6x faster than subgroupTile (only matmul + col2im's
 * dCols product, which SwiftShader's default dX path skips, as fast). GPUs favour workgroup
 * tiling.
 */
export function preferredMatmulChoice(
  adapterKind: AdapterKind,
  hasSubgroups = false,
): MatmulChoice {
  switch (adapterKind) {
    case 'swiftshader':
      return { variant: 'registerTile', quadK: true };
    case 'lavapipe':
    case 'other-software':
      return { variant: hasSubgroups ? 'subgroupTile' : 'registerTile' };
    case 'hardware':
    case 'unknown':
      return { variant: 'workgroupTile' };
    default:
      return adapterKind satisfies never;
  }
}

/** preferredMatmulChoice's variant; pass the choice itself where its quadK matters (SwiftShader). */
export function preferredMatmulVariant(
  adapterKind: AdapterKind,
  hasSubgroups = false,
): MatmulVariant {
  return preferredMatmulChoice(adapterKind, hasSubgroups).variant;
}

/**
 * One KernelCall computing `args` (see MatmulArgs). Without a bias, A is bound again in the bias
 * slot (read-only, never read) so every call binds the same layout. Throws ShadergradError when
 * element counts do not match M, N, K, batch and the strides.
 */
export function matmul(
  args: MatmulArgs<GpuTensor>,
  how: MatmulPolicy | MatmulChoice = 'registerTile',
): KernelCall {
  const s = checkMatmulArgs(args);
  const choice = resolveChoice(how, args);
  const wgSize = choice.wgSize ?? SUBGROUP_WG_SIZE;
  if (choice.variant === 'subgroupTile' && subgroupTileHandles(args, s, wgSize))
    return matmulSubgroupTile(args, s, wgSize);
  const variant = choice.variant === 'subgroupTile' ? 'registerTile' : choice.variant;
  // A subgroupTile that fell back keeps registerTile's measured shape, not the sizes it was given.
  const sized = choice.variant === variant;
  const entryPoint = matmulEntryPoint(args, variant, s, sized && choice.quadK === true);
  const wgCols = (sized ? choice.wgCols : undefined) ?? WG_COLS;
  const wgRows = (sized ? choice.wgRows : undefined) ?? WG_ROWS;
  const [blockRows, blockCols] = blockOf(variant, wgCols, wgRows);
  const workgroups: Workgroups = [
    ceilDiv(args.N, blockCols),
    ceilDiv(args.M, blockRows),
    Math.min(s.outputs, MAX_WORKGROUPS_PER_DIMENSION),
  ];
  if (
    workgroups[0] > MAX_WORKGROUPS_PER_DIMENSION ||
    workgroups[1] > MAX_WORKGROUPS_PER_DIMENSION
  ) {
    throw new ShadergradError(
      `matmul.${entryPoint}: ${args.M}x${args.N} needs a ${workgroups[1]}x${workgroups[0]} grid, over ${MAX_WORKGROUPS_PER_DIMENSION} per dimension`,
    );
  }
  const constants: Record<string, number> = {
    transA: args.transA ? 1 : 0,
    transB: args.transB ? 1 : 0,
    sumBatches: args.sumBatches ? 1 : 0,
    biasMode: BIAS_CODE[args.bias ? (args.biasMode ?? 'none') : 'none'],
    activation: activationCode[args.activation ?? 'none'],
  };
  if (variant !== 'workgroupTile') Object.assign(constants, { wgCols, wgRows });
  const shape = wgCols === WG_COLS && wgRows === WG_ROWS ? '' : ` ${wgCols}x${wgRows}`;
  return {
    label: `matmul.${entryPoint}${shape}(${describeProduct(args, s)})`,
    shader: operandModule(matmulShader, args),
    entryPoint,
    constants,
    tensors: [args.a, args.b, args.bias ?? args.a, args.out],
    params: matmulParams.pack({ M: args.M, N: args.N, K: args.K, ...s }),
    workgroups,
  };
}

function resolveChoice(
  how: MatmulPolicy | MatmulChoice,
  args: MatmulArgs<GpuTensor>,
): MatmulChoice {
  if (typeof how === 'string') return { variant: how };
  return 'choose' in how ? how.choose(args) : how;
}

/**
 * registerTile reads vec4s where the rows it walks are 16-byte aligned runs of 4 floats: A and B
 * along k for A·Bᵀ; with quadK, A along k (or 4 rows of Aᵀ) and B along n; else B along n;
 * anything else takes the scalar entry point.
 */
function matmulEntryPoint(
  args: MatmulArgs<GpuTensor>,
  variant: MatmulBaseVariant,
  s: MatmulStrides,
  quadK: boolean,
): string {
  switch (variant) {
    case 'naive':
      return 'matmulNaive';
    case 'workgroupTile':
      return 'matmulWorkgroupTile';
    case 'registerTile': {
      const aligned = (...xs: number[]): boolean =>
        xs.every((x) => x % 4 === 0) &&
        args.a.byteOffset % 16 === 0 &&
        args.b.byteOffset % 16 === 0;
      if (!args.transA && args.transB && aligned(args.K, s.aBatchStride, s.bBatchStride))
        return 'matmulRegisterTileVec4K';
      const aRows = args.transA ? [args.M] : [];
      if (
        quadK &&
        !args.transB &&
        aligned(args.K, args.N, s.aBatchStride, s.bBatchStride, ...aRows)
      )
        return 'matmulRegisterTileQuadK';
      if (!args.transB && aligned(args.N, s.bBatchStride)) return 'matmulRegisterTileVec4';
      return 'matmulRegisterTile';
    }
    default:
      return variant satisfies never;
  }
}

export type MatmulStrides = ReturnType<typeof matmulStrides>;

/** Validates sizes, strides and element counts; returns the strides with defaults filled in. */
export function checkMatmulArgs(args: MatmulArgs<GpuTensor>): MatmulStrides {
  const label = 'matmul';
  const { M, N, K } = args;
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const)
    expectWhole(label, name, v);
  const s = matmulStrides(args);
  expectWhole(label, 'batch', s.batch);
  expectWhole(label, 'aBatchStride', s.aBatchStride, 0);
  expectWhole(label, 'bBatchStride', s.bBatchStride, 0);
  expectWhole(label, 'outBatchStride', s.outBatchStride, 0);
  // The last matrix ends at (batch - 1) * stride + its size.
  const extent = (stride: number, size: number): number => (s.batch - 1) * stride + size;
  expectCount(
    label,
    `a (${args.transA ? 'K x M' : 'M x K'}, stride ${s.aBatchStride})`,
    args.a,
    extent(s.aBatchStride, M * K),
  );
  expectCount(
    label,
    `b (${args.transB ? 'N x K' : 'K x N'}, stride ${s.bBatchStride})`,
    args.b,
    extent(s.bBatchStride, K * N),
  );
  if (args.productsPerSum !== undefined) {
    if (!args.sumBatches) throw new ShadergradError(`${label}: productsPerSum needs sumBatches`);
    expectWhole(label, 'productsPerSum', args.productsPerSum);
  }
  const summed = args.sumBatches ? `batches summed in runs of ${s.productsPerSum}, ` : '';
  expectCount(
    label,
    `out (M x N, ${summed}stride ${s.outBatchStride})`,
    args.out,
    (s.outputs - 1) * s.outBatchStride + M * N,
  );
  if (s.outputs > 1 && s.outBatchStride < M * N)
    throw new ShadergradError(
      `${label}: outBatchStride ${s.outBatchStride} < M*N = ${M * N} makes outputs overlap`,
    );
  if (Boolean(args.bias) !== Boolean(args.biasMode))
    throw new ShadergradError(`${label}: bias and biasMode must be given together`);
  if (args.bias)
    expectCount(
      label,
      `bias (${args.biasMode === 'row' ? 'M' : 'N'})`,
      args.bias,
      args.biasMode === 'row' ? M : N,
    );
  for (const [name, t] of [
    ['out', args.out],
    ['bias', args.bias],
  ] as const) {
    if (t) expectDtype(label, name, t, 'f32');
  }
  expectFloat(label, 'a', args.a);
  expectFloat(label, 'b', args.b);
  return s;
}

export const matmulFamily: KernelFamily = {
  name: 'matmul',
  shader: matmulShader,
  entryPoints: {
    matmulNaive: matmulParams,
    matmulRegisterTile: matmulParams,
    matmulRegisterTileVec4: matmulParams,
    matmulRegisterTileVec4K: matmulParams,
    matmulWorkgroupTile: matmulParams,
  },
  workgroupMemory: ['matmulWorkgroupTile'],
};
