/**
 * GELU (shaders/gelu.wgsl), torch.nn.GELU(approximate='none' | 'tanh'): y = x·Φ(x) on flat
 * tensors of any shape, and dX = dY·gelu'(x) from the input. The form is an override constant.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { sameCount } from './checks';
import type { KernelFamily } from './family';
import type { GeluApproximation, GeluBackwardArgs, GeluForwardArgs } from './gelu.cpu';
import { familyShader } from './shader';
import source from '../../shaders/gelu.wgsl?raw';

export const geluShader = familyShader('gelu', source);
export const geluParams = defineParams('Params', { count: 'u32' });

const WORKGROUP_SIZE = 256;
/** Consecutive elements per invocation: the shader's PER_INVOCATION. */
const PER_INVOCATION = 4;
const FORM: Record<GeluApproximation, number> = { none: 0, tanh: 1 };

function call(
  entryPoint: 'geluForward' | 'geluBackward',
  approximate: GeluApproximation,
  tensors: GpuTensor[],
): KernelCall {
  const label = `gelu.${entryPoint}`;
  const count = sameCount(label, ...tensors);
  return {
    label: `${label}(${approximate}, ${count})`,
    shader: geluShader,
    entryPoint,
    constants: { workgroupSize: WORKGROUP_SIZE, approximate: FORM[approximate] },
    tensors,
    params: geluParams.pack({ count }),
    workgroups: dispatchFor(Math.ceil(count / PER_INVOCATION), WORKGROUP_SIZE),
  };
}

export function geluForward(args: GeluForwardArgs<GpuTensor>): KernelCall {
  return call('geluForward', args.approximate, [args.x, args.y]);
}

export function geluBackward(args: GeluBackwardArgs<GpuTensor>): KernelCall {
  return call('geluBackward', args.approximate, [args.x, args.dY, args.dX]);
}

export const geluFamily: KernelFamily = {
  name: 'gelu',
  shader: geluShader,
  entryPoints: { geluForward: geluParams, geluBackward: geluParams },
};
