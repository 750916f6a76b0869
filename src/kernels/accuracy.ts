/**
 * Accuracy (shaders/accuracy.wgsl): the number of samples whose argmax over K logits equals the
 * label, optionally accumulated on the GPU across steps (u32, one workgroup, tree reduction in
 * workgroup memory: exact and deterministic), and the argmax predictions themselves (for a
 * confusion matrix). The first maximum wins ties; a label outside [0, K) never counts as correct.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { DType, GpuTensor } from '../gpu/tensor';
import type { AccuracyArgmaxArgs, AccuracyCountArgs } from './accuracy.cpu';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/accuracy.wgsl?raw';

export const accuracyShader = familyShader('accuracy', source);
export const accuracyParams = defineParams('Params', { N: 'u32', K: 'u32', accumulate: 'u32' });

/** accuracyCount: the single workgroup's size, a power of two for the tree. */
const COUNT_WORKGROUP_SIZE = 256;
/** accuracyArgmax: one invocation per sample. */
const ARGMAX_WORKGROUP_SIZE = 64;

/** A tensor to check: its name, the tensor, its element count and dtype. */
type Expected = readonly [name: string, tensor: GpuTensor, count: number, dtype: DType];

function checkTensors(label: string, N: number, K: number, tensors: readonly Expected[]): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'K', K);
  for (const [name, t, count, dtype] of tensors) {
    expectCount(label, name, t, count);
    expectDtype(label, name, t, dtype);
  }
}

export function accuracyCount(args: AccuracyCountArgs<GpuTensor>): KernelCall {
  const { logits, labels, correct, N, K } = args;
  const accumulate = args.accumulate ?? false;
  const label = 'accuracy.accuracyCount';
  checkTensors(label, N, K, [
    ['logits', logits, N * K, 'f32'],
    ['labels', labels, N, 'i32'],
    ['correct', correct, 1, 'u32'],
  ]);
  return {
    label: `${label}(${N}x${K}${accumulate ? ', accumulate' : ''})`,
    shader: accuracyShader,
    entryPoint: 'accuracyCount',
    constants: { workgroupSize: COUNT_WORKGROUP_SIZE },
    tensors: [logits, labels, correct],
    params: accuracyParams.pack({ N, K, accumulate: accumulate ? 1 : 0 }),
    workgroups: [1, 1, 1],
  };
}

export function accuracyArgmax(args: AccuracyArgmaxArgs<GpuTensor>): KernelCall {
  const { logits, predictions, N, K } = args;
  const label = 'accuracy.accuracyArgmax';
  checkTensors(label, N, K, [
    ['logits', logits, N * K, 'f32'],
    ['predictions', predictions, N, 'u32'],
  ]);
  return {
    label: `${label}(${N}x${K})`,
    shader: accuracyShader,
    entryPoint: 'accuracyArgmax',
    constants: { workgroupSize: ARGMAX_WORKGROUP_SIZE },
    tensors: [logits, predictions],
    params: accuracyParams.pack({ N, K, accumulate: 0 }),
    workgroups: dispatchFor(N, ARGMAX_WORKGROUP_SIZE),
  };
}

export const accuracyFamily: KernelFamily = {
  name: 'accuracy',
  shader: accuracyShader,
  entryPoints: { accuracyCount: accuracyParams, accuracyArgmax: accuracyParams },
  workgroupMemory: ['accuracyCount'],
};
