/**
 * Softmax cross-entropy (shaders/softmaxCrossEntropy.wgsl) with PyTorch F.cross_entropy
 * semantics: per-sample losses logsumexp(logits[n]) - logits[n, label] (reduce them with
 * lossMean for the batch mean), and the gradient of that mean, (softmax - onehot) / N, times an
 * optional scale. Stable for logits of +-1e4 (max subtracted); a label outside [0, K) gives NaN.
 * An optional ignoreIndex (torch's ignore_index) leaves rows with that label out: loss 0, zero
 * gradient, and the mean over the other rows.
 * The fused entry point computes both in one dispatch for the training step.
 */
import { ShadergradError } from '../base/errors';
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { DType, GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import type {
  SoftmaxCrossEntropyBackwardArgs,
  SoftmaxCrossEntropyForwardArgs,
  SoftmaxCrossEntropyForwardBackwardArgs,
} from './softmaxCrossEntropy.cpu';
import source from '../../shaders/softmaxCrossEntropy.wgsl?raw';

export const softmaxCrossEntropyShader = familyShader('softmaxCrossEntropy', source);
export const softmaxCrossEntropyParams = defineParams('Params', {
  N: 'u32',
  K: 'u32',
  gradScale: 'f32',
  ignoreIndex: 'i32',
  ignoring: 'u32',
});

/** One invocation per sample. */
const WORKGROUP_SIZE = 64;

type Entry =
  | 'softmaxCrossEntropyForward'
  | 'softmaxCrossEntropyBackward'
  | 'softmaxCrossEntropyForwardBackward';

/** A tensor to bind: its name, the tensor, elements per sample (K or 1) and dtype. */
type Binding = readonly [name: string, tensor: GpuTensor, perRow: number, dtype: DType];

/** Checks sizes, element counts and dtypes, then builds the call; tensors in binding order. */
function call(
  entry: Entry,
  N: number,
  K: number,
  scale: number,
  ignoreIndex: number | undefined,
  tensors: readonly Binding[],
): KernelCall {
  const label = `softmaxCrossEntropy.${entry}`;
  expectWhole(label, 'N', N);
  expectWhole(label, 'K', K);
  if (ignoreIndex !== undefined && !Number.isInteger(ignoreIndex))
    throw new ShadergradError(`${label}: ignoreIndex = ${ignoreIndex}, expected a whole number`);
  for (const [name, t, perRow, dtype] of tensors) {
    expectCount(label, name, t, N * perRow);
    expectDtype(label, name, t, dtype);
  }
  return {
    label: `${label}(${N}x${K})`,
    shader: softmaxCrossEntropyShader,
    entryPoint: entry,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: tensors.map(([, t]) => t),
    params: softmaxCrossEntropyParams.pack({
      N,
      K,
      gradScale: scale / N,
      ignoreIndex: ignoreIndex ?? 0,
      ignoring: ignoreIndex === undefined ? 0 : 1,
    }),
    workgroups: dispatchFor(N, WORKGROUP_SIZE),
  };
}

export function softmaxCrossEntropyForward(
  args: SoftmaxCrossEntropyForwardArgs<GpuTensor>,
): KernelCall {
  const { logits, labels, loss, N, K } = args;
  return call('softmaxCrossEntropyForward', N, K, 1, args.ignoreIndex, [
    ['logits', logits, K, 'f32'],
    ['labels', labels, 1, 'i32'],
    ['loss', loss, 1, 'f32'],
  ]);
}

export function softmaxCrossEntropyBackward(
  args: SoftmaxCrossEntropyBackwardArgs<GpuTensor>,
): KernelCall {
  const { logits, labels, dLogits, N, K } = args;
  return call('softmaxCrossEntropyBackward', N, K, args.scale ?? 1, args.ignoreIndex, [
    ['logits', logits, K, 'f32'],
    ['labels', labels, 1, 'i32'],
    ['dLogits', dLogits, K, 'f32'],
  ]);
}

export function softmaxCrossEntropyForwardBackward(
  args: SoftmaxCrossEntropyForwardBackwardArgs<GpuTensor>,
): KernelCall {
  const { logits, labels, dLogits, loss, N, K } = args;
  return call('softmaxCrossEntropyForwardBackward', N, K, args.scale ?? 1, args.ignoreIndex, [
    ['logits', logits, K, 'f32'],
    ['labels', labels, 1, 'i32'],
    ['dLogits', dLogits, K, 'f32'],
    ['loss', loss, 1, 'f32'],
  ]);
}

export const softmaxCrossEntropyFamily: KernelFamily = {
  name: 'softmaxCrossEntropy',
  shader: softmaxCrossEntropyShader,
  entryPoints: {
    softmaxCrossEntropyForward: softmaxCrossEntropyParams,
    softmaxCrossEntropyBackward: softmaxCrossEntropyParams,
    softmaxCrossEntropyForwardBackward: softmaxCrossEntropyParams,
  },
};
