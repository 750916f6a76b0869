/**
 * What shaders/matmul.wgsl and shaders/matmulSubgroup.wgsl share on the host side: the Params
 * layout, the biasMode codes, the products' labels and the module for the operands' storage types.
 */
import type { ShaderSource } from '../gpu/pipelines';
import type { DType } from '../gpu/tensor';
import { defineParams } from '../gpu/uniforms';
import type { MatmulArgs, matmulStrides } from './matmul.cpu';
import { withF16Storage } from './shader';

export const matmulParams = defineParams('Params', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  batch: 'u32',
  aBatchStride: 'u32',
  bBatchStride: 'u32',
  outBatchStride: 'u32',
  productsPerSum: 'u32',
});

/** The biasMode override's values (BIAS_NONE, BIAS_ROW, BIAS_COL in both shaders). */
export const BIAS_CODE = { none: 0, row: 1, col: 2 } as const;

/** The operands' element types as far as the shaders care: A and B may be f16, the rest f32. */
type Typed = { readonly dtype: DType };

/** The module that reads A and B in their tensors' storage types (AStored, BStored: f32 or f16). */
export function operandModule(shader: ShaderSource, args: MatmulArgs<Typed>): ShaderSource {
  const aliases: string[] = [];
  if (args.a.dtype === 'f16') aliases.push('AStored');
  if (args.b.dtype === 'f16') aliases.push('BStored');
  return withF16Storage(shader, aliases);
}

/** The operands stored in half precision, 'a' before 'b': what labels and tuner keys name. */
export function halfOperands(args: MatmulArgs<Typed>): ('a' | 'b')[] {
  return (['a', 'b'] as const).filter((x) => args[x].dtype === 'f16');
}

/**
 * "A·Bᵀ, M=64 K=196 N=800, batch 64 summed (in 8), bias row, relu", with ", B f16" where an
 * operand is stored in half precision: a product's kernel label (the tuner's key too).
 */
export function describeProduct(
  args: MatmulArgs<Typed>,
  s: ReturnType<typeof matmulStrides>,
): string {
  const ops = `${args.transA ? 'Aᵀ' : 'A'}·${args.transB ? 'Bᵀ' : 'B'}`;
  const groups = s.outputs > 1 ? ` (in ${s.outputs})` : '';
  const summed = args.sumBatches ? ` summed${groups}` : '';
  const batched = s.batch > 1 ? `, batch ${s.batch}${summed}` : '';
  const bias = args.bias ? `, bias ${args.biasMode ?? '?'}` : '';
  const act = args.activation && args.activation !== 'none' ? `, ${args.activation}` : '';
  const storage = halfOperands(args)
    .map((x) => `, ${x.toUpperCase()} f16`)
    .join('');
  return `${ops}, M=${args.M} K=${args.K} N=${args.N}${batched}${storage}${bias}${act}`;
}
