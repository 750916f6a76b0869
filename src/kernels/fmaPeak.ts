/**
 * FMA peak kernel (shaders/fmaPeak.wgsl): measures the adapter's arithmetic throughput, so the
 * benchmarks can report each kernel as a fraction of what this adapter can do at best.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { expectWhole } from './checks';
import type { KernelFamily } from './family';
import type { FmaPeakArgs } from './fmaPeak.cpu';
import { familyShader } from './shader';
import source from '../../shaders/fmaPeak.wgsl?raw';

export const fmaPeakShader = familyShader('fmaPeak', source);
export const fmaPeakParams = defineParams('Params', {
  count: 'u32',
  iterations: 'u32',
  mul: 'f32',
  add: 'f32',
});

const WORKGROUP_SIZE = 256;

export function fmaPeak(args: FmaPeakArgs<GpuTensor>): KernelCall {
  const count = elementCount(args.sums.shape);
  expectWhole('fmaPeak', 'iterations', args.iterations, 0);
  return {
    label: `fmaPeak.fmaPeak(${count}x${args.iterations})`,
    shader: fmaPeakShader,
    entryPoint: 'fmaPeak',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.sums],
    params: fmaPeakParams.pack({
      count,
      iterations: args.iterations,
      mul: args.mul,
      add: args.add,
    }),
    workgroups: dispatchFor(count, WORKGROUP_SIZE),
  };
}

export const fmaPeakFamily: KernelFamily = {
  name: 'fmaPeak',
  shader: fmaPeakShader,
  entryPoints: { fmaPeak: fmaPeakParams },
};
