/** The Params layout shared by shaders/matmul.wgsl and shaders/matmulSubgroup.wgsl. */
import { defineParams } from '../gpu/uniforms';

export const matmulParams = defineParams('Params', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  batch: 'u32',
  aBatchStride: 'u32',
  bBatchStride: 'u32',
  outBatchStride: 'u32',
});
