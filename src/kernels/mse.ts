/**
 * Mean squared error (shaders/mse.wgsl), PyTorch MSELoss(reduction='mean') on pred/target [N, D]:
 * per-sample partial sums loss[n] = sum_d (pred - target)^2 / (N*D), whose plain sum is the mean
 * (reduce with lossMean({ loss, total, N, scale: 1 })), and dPred = 2 (pred - target) / (N*D).
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import type { MseBackwardArgs, MseForwardArgs } from './mse.cpu';
import { familyShader } from './shader';
import source from '../../shaders/mse.wgsl?raw';

export const mseShader = familyShader('mse', source);
export const mseParams = defineParams('Params', { N: 'u32', D: 'u32', invCount: 'f32' });

/** Forward: one invocation per sample; backward: one per element (a grid past 65535 workgroups at ~4M). */
const WORKGROUP_SIZE = 64;

function checkShapes(
  label: string,
  N: number,
  D: number,
  tensors: [string, GpuTensor, number][],
): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'D', D);
  for (const [name, t, count] of tensors) expectCount(label, name, t, count);
}

export function mseForward(args: MseForwardArgs<GpuTensor>): KernelCall {
  const { pred, target, loss, N, D } = args;
  const label = 'mse.mseForward';
  checkShapes(label, N, D, [
    ['pred', pred, N * D],
    ['target', target, N * D],
    ['loss', loss, N],
  ]);
  return {
    label: `${label}(${N}x${D})`,
    shader: mseShader,
    entryPoint: 'mseForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [pred, target, loss],
    params: mseParams.pack({ N, D, invCount: 1 / (N * D) }),
    workgroups: dispatchFor(N, WORKGROUP_SIZE),
  };
}

export function mseBackward(args: MseBackwardArgs<GpuTensor>): KernelCall {
  const { pred, target, dPred, N, D } = args;
  const label = 'mse.mseBackward';
  checkShapes(label, N, D, [
    ['pred', pred, N * D],
    ['target', target, N * D],
    ['dPred', dPred, N * D],
  ]);
  return {
    label: `${label}(${N}x${D})`,
    shader: mseShader,
    entryPoint: 'mseBackward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [pred, target, dPred],
    params: mseParams.pack({ N, D, invCount: 1 / (N * D) }),
    workgroups: dispatchFor(N * D, WORKGROUP_SIZE),
  };
}

export const mseFamily: KernelFamily = {
  name: 'mse',
  shader: mseShader,
  entryPoints: { mseForward: mseParams, mseBackward: mseParams },
};
