/**
 * Loss reduction (shaders/reduce.wgsl): total[0] = (accumulate ? total[0] : 0) + scale * sum(loss),
 * in one workgroup with a tree reduction in workgroup memory (deterministic, no atomics). With the
 * default scale 1/N it is the batch mean of softmaxCrossEntropyForward's per-sample losses; pass
 * scale 1 for mseForward, whose per-sample values already carry 1/(N*D).
 */
import type { KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import type { LossMeanArgs } from './reduce.cpu';
import { familyShader } from './shader';
import source from '../../shaders/reduce.wgsl?raw';

export const reduceShader = familyShader('reduce', source);
export const reduceParams = defineParams('Params', {
  count: 'u32',
  scale: 'f32',
  accumulate: 'u32',
});

/** A power of two: the tree halves it down to one slot. */
const WORKGROUP_SIZE = 256;

export function lossMean(args: LossMeanArgs<GpuTensor>): KernelCall {
  const { loss, total, N } = args;
  const label = 'reduce.lossMean';
  expectWhole(label, 'N', N);
  expectCount(label, 'loss', loss, N);
  expectCount(label, 'total', total, 1);
  const scale = args.scale ?? 1 / N;
  const accumulate = args.accumulate ?? false;
  return {
    label: `${label}(${N}${accumulate ? ', accumulate' : ''})`,
    shader: reduceShader,
    entryPoint: 'lossMean',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [loss, total],
    params: reduceParams.pack({ count: N, scale, accumulate: accumulate ? 1 : 0 }),
    workgroups: [1, 1, 1],
  };
}

export const reduceFamily: KernelFamily = {
  name: 'reduce',
  shader: reduceShader,
  entryPoints: { lossMean: reduceParams },
  workgroupMemory: ['lossMean'],
};
