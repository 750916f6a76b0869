/**
 * Dropout kernels (shaders/dropout.wgsl): inverted dropout as PyTorch's nn.Dropout trains it,
 * y = x * mask / (1 - p), on flat tensors of any shape. The mask is a counter-based hash of
 * (seed, step, layer, element index), with the step read from the optimizer's u32 counter on the
 * GPU: no mask buffer, no per-step upload, and the backward recomputes the forward's mask.
 * Evaluation skips dropout altogether (the graph aliases its output to its input).
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { sameCount } from './checks';
import {
  dropoutScale,
  dropoutThreshold,
  isDropoutRate,
  type DropoutBackwardArgs,
  type DropoutForwardArgs,
} from './dropout.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/dropout.wgsl?raw';

export const dropoutShader = familyShader('dropout', source);
export const dropoutParams = defineParams('Params', {
  count: 'u32',
  threshold: 'u32',
  scale: 'f32',
  seed: 'u32',
  layer: 'u32',
});

const WORKGROUP_SIZE = 256;

type Hyper = Pick<DropoutForwardArgs<GpuTensor>, 'step' | 'rate' | 'seed' | 'layer'>;

/** Checks rate, seed, layer and the step counter; returns the packed Params. */
function packParams(label: string, count: number, { step, rate, seed, layer }: Hyper): ArrayBuffer {
  if (!isDropoutRate(rate))
    throw new ShadergradError(`${label}: rate = ${rate}, expected a probability in [0, 1)`);
  for (const [name, v] of [
    ['seed', seed],
    ['layer', layer],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new ShadergradError(`${label}: ${name} = ${v}, expected a u32 (whole, 0 .. 2^32-1)`);
  }
  if (step.dtype !== 'u32' || elementCount(step.shape) !== 1)
    throw new ShadergradError(
      `${label}: step must be the u32 [1] step counter, got ${step.dtype} [${step.shape.join(', ')}]`,
    );
  const threshold = dropoutThreshold(rate);
  return dropoutParams.pack({ count, threshold, scale: dropoutScale(rate), seed, layer });
}

export function dropoutForward(args: DropoutForwardArgs<GpuTensor>): KernelCall {
  const label = 'dropout.dropoutForward';
  const count = sameCount(label, args.x, args.y);
  return {
    label: `${label}(p ${args.rate}, layer ${args.layer}, ${count})`,
    shader: dropoutShader,
    entryPoint: 'dropoutForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.x, args.step, args.y],
    params: packParams(label, count, args),
    workgroups: dispatchFor(count, WORKGROUP_SIZE),
  };
}

export function dropoutBackward(args: DropoutBackwardArgs<GpuTensor>): KernelCall {
  const label = 'dropout.dropoutBackward';
  const count = sameCount(label, args.dY, args.dX);
  return {
    label: `${label}(p ${args.rate}, layer ${args.layer}, ${count})`,
    shader: dropoutShader,
    entryPoint: 'dropoutBackward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.dY, args.step, args.dX],
    params: packParams(label, count, args),
    workgroups: dispatchFor(count, WORKGROUP_SIZE),
  };
}

export const dropoutFamily: KernelFamily = {
  name: 'dropout',
  shader: dropoutShader,
  entryPoints: { dropoutForward: dropoutParams, dropoutBackward: dropoutParams },
};
