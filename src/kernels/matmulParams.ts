/**
 * What shaders/matmul.wgsl and shaders/matmulSubgroup.wgsl share on the host side: the Params
 * layout, the biasMode codes and the products' labels.
 */
import { defineParams } from '../gpu/uniforms';
import type { MatmulArgs, matmulStrides } from './matmul.cpu';

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

/** "A·Bᵀ, M=64 K=196 N=800, batch 64 summed (in 8), bias row, relu": a product's kernel label. */
export function describeProduct(
  args: MatmulArgs<unknown>,
  s: ReturnType<typeof matmulStrides>,
): string {
  const ops = `${args.transA ? 'Aᵀ' : 'A'}·${args.transB ? 'Bᵀ' : 'B'}`;
  const groups = s.outputs > 1 ? ` (in ${s.outputs})` : '';
  const summed = args.sumBatches ? ` summed${groups}` : '';
  const batched = s.batch > 1 ? `, batch ${s.batch}${summed}` : '';
  const bias = args.bias ? `, bias ${args.biasMode ?? '?'}` : '';
  const act = args.activation && args.activation !== 'none' ? `, ${args.activation}` : '';
  return `${ops}, M=${args.M} K=${args.K} N=${args.N}${batched}${bias}${act}`;
}
