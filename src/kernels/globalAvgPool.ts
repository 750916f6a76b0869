/**
 * Global average pooling (shaders/globalAvgPool.wgsl), torch.nn.AdaptiveAvgPool2d(1): [N, C, S]
 * -> [N, C], one invocation per (n, c) summing in order (deterministic); the backward spreads
 * dOut / S over each channel.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { GlobalAvgPoolBackwardArgs, GlobalAvgPoolForwardArgs } from './globalAvgPool.cpu';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/globalAvgPool.wgsl?raw';

export const globalAvgPoolShader = familyShader('globalAvgPool', source);
export const globalAvgPoolParams = defineParams('Params', { rows: 'u32', S: 'u32' });

const WORKGROUP_SIZE = 64;

function checkSizes(label: string, N: number, C: number, S: number): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'C', C);
  expectWhole(label, 'S', S);
}

export function globalAvgPoolForward(args: GlobalAvgPoolForwardArgs<GpuTensor>): KernelCall {
  const { x, out, N, C, S } = args;
  const label = 'globalAvgPool.globalAvgPoolForward';
  checkSizes(label, N, C, S);
  expectCount(label, 'x', x, N * C * S);
  expectCount(label, 'out', out, N * C);
  return {
    label: `${label}(${N}x${C}x${S})`,
    shader: globalAvgPoolShader,
    entryPoint: 'globalAvgPoolForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [x, out],
    params: globalAvgPoolParams.pack({ rows: N * C, S }),
    workgroups: dispatchFor(N * C, WORKGROUP_SIZE),
  };
}

export function globalAvgPoolBackward(args: GlobalAvgPoolBackwardArgs<GpuTensor>): KernelCall {
  const { dOut, dX, N, C, S } = args;
  const label = 'globalAvgPool.globalAvgPoolBackward';
  checkSizes(label, N, C, S);
  expectCount(label, 'dOut', dOut, N * C);
  expectCount(label, 'dX', dX, N * C * S);
  return {
    label: `${label}(${N}x${C}x${S})`,
    shader: globalAvgPoolShader,
    entryPoint: 'globalAvgPoolBackward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [dOut, dX],
    params: globalAvgPoolParams.pack({ rows: N * C, S }),
    workgroups: dispatchFor(N * C * S, WORKGROUP_SIZE),
  };
}

export const globalAvgPoolFamily: KernelFamily = {
  name: 'globalAvgPool',
  shader: globalAvgPoolShader,
  entryPoints: {
    globalAvgPoolForward: globalAvgPoolParams,
    globalAvgPoolBackward: globalAvgPoolParams,
  },
};
