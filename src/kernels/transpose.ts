/**
 * x.transpose(1, 2) of a 4-D tensor (shaders/transpose.wgsl): [A, B, C, D] -> [A, C, B, D], the
 * copy between attention's [N, T, H, D] and [N, H, T, D]. Its backward is the same kernel with
 * B and C swapped (transposing back). A copy, so results are exact.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { TransposeArgs } from './transpose.cpu';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/transpose.wgsl?raw';

export const transposeShader = familyShader('transpose', source);
export const transposeParams = defineParams('Params', { A: 'u32', B: 'u32', C: 'u32', D: 'u32' });

const WORKGROUP_SIZE = 64;

export function transpose(args: TransposeArgs<GpuTensor>): KernelCall {
  const { x, out, A, B, C, D } = args;
  const label = 'transpose.transpose';
  for (const [k, v] of Object.entries({ A, B, C, D })) expectWhole(label, k, v);
  expectCount(label, 'x', x, A * B * C * D);
  expectCount(label, 'out', out, A * B * C * D);
  return {
    label: `${label}(${A}x${B}x${C}x${D} -> ${A}x${C}x${B}x${D})`,
    shader: transposeShader,
    entryPoint: 'transpose',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [x, out],
    params: transposeParams.pack({ A, B, C, D }),
    workgroups: dispatchFor(A * C * B, WORKGROUP_SIZE), // one invocation per row of D values
  };
}

export const transposeFamily: KernelFamily = {
  name: 'transpose',
  shader: transposeShader,
  entryPoints: { transpose: transposeParams },
};
