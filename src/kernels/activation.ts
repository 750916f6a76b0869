/**
 * Activation kernels (shaders/activation.wgsl): y = f(x) and dx = dy * f'(x) from y, for ReLU,
 * sigmoid and tanh, on flat tensors of any shape. The activation is an override constant, so each
 * function is its own pipeline with no per-element branch. Counts divisible by 4 take the *Quads
 * entry points: one vec4 per tensor and invocation.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { ActivationBackwardArgs, ActivationForwardArgs } from './activation.cpu';
import { sameCount } from './checks';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/activation.wgsl?raw';

export const activationShader = familyShader('activation', source);
export const activationParams = defineParams('Params', { count: 'u32' });

const WORKGROUP_SIZE = 256;

/** The entry point and grid for `count` elements: 4 per invocation when count % 4 == 0. */
function elementwise(entryPoint: string, count: number) {
  const quads = count % 4 === 0;
  return {
    entryPoint: quads ? `${entryPoint}Quads` : entryPoint,
    workgroups: dispatchFor(quads ? count / 4 : count, WORKGROUP_SIZE),
  };
}

export function activationForward(args: ActivationForwardArgs<GpuTensor>): KernelCall {
  const count = sameCount('activation.activationForward', args.x, args.y);
  return {
    label: `activation.activationForward(${args.activation}, ${count})`,
    shader: activationShader,
    ...elementwise('activationForward', count),
    constants: { workgroupSize: WORKGROUP_SIZE, activation: activationCode[args.activation] },
    tensors: [args.x, args.y],
    params: activationParams.pack({ count }),
  };
}

export function activationBackward(args: ActivationBackwardArgs<GpuTensor>): KernelCall {
  const count = sameCount('activation.activationBackward', args.y, args.dY, args.dX);
  return {
    label: `activation.activationBackward(${args.activation}, ${count})`,
    shader: activationShader,
    ...elementwise('activationBackward', count),
    constants: { workgroupSize: WORKGROUP_SIZE, activation: activationCode[args.activation] },
    tensors: [args.y, args.dY, args.dX],
    params: activationParams.pack({ count }),
  };
}

export const activationFamily: KernelFamily = {
  name: 'activation',
  shader: activationShader,
  entryPoints: {
    activationForward: activationParams,
    activationForwardQuads: activationParams,
    activationBackward: activationParams,
    activationBackwardQuads: activationParams,
  },
};
