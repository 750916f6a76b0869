/**
 * Average pooling kernels (shaders/avgPool.wgsl): out = window means of an NCHW input, and
 * dX = (sum of dOut over the windows covering each element) / (KH * KW), gathered per input
 * element so overlapping windows need no atomics. Shapes: x, dX [N, C, H, W]; out, dOut
 * [N, C, OH, OW], from a PoolGeometry (geometry.ts: no padding, floor mode).
 * Entry points avgPoolForward (one thread per output), avgPoolBackward (one per input element);
 * override workgroupSize.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { AvgPoolBackwardArgs, AvgPoolForwardArgs } from './avgPool.cpu';
import type { KernelFamily } from './family';
import { poolArgsProblem } from './checks';
import { poolLabel, poolParamsFields } from './geometry';
import { familyShader } from './shader';
import source from '../../shaders/avgPool.wgsl?raw';

export const avgPoolShader = familyShader('avgPool', source);
export const avgPoolParams = defineParams('Params', poolParamsFields);

const WORKGROUP_SIZE = 256;

export function avgPoolForward(args: AvgPoolForwardArgs<GpuTensor>): KernelCall {
  const g = args.geometry;
  const problem = poolArgsProblem(g, [
    ['x', args.x, 'in', 'f32'],
    ['out', args.out, 'out', 'f32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`avgPool.avgPoolForward: ${problem}`);
  return {
    label: `avgPool.avgPoolForward(${poolLabel(g)})`,
    shader: avgPoolShader,
    entryPoint: 'avgPoolForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.x, args.out],
    params: avgPoolParams.pack(g),
    workgroups: dispatchFor(g.N * g.C * g.OH * g.OW, WORKGROUP_SIZE),
  };
}

/** Gather: one invocation per input element sums dOut over the windows that cover it. */
export function avgPoolBackward(args: AvgPoolBackwardArgs<GpuTensor>): KernelCall {
  const g = args.geometry;
  const problem = poolArgsProblem(g, [
    ['dOut', args.dOut, 'out', 'f32'],
    ['dX', args.dX, 'in', 'f32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`avgPool.avgPoolBackward: ${problem}`);
  return {
    label: `avgPool.avgPoolBackward(${poolLabel(g)})`,
    shader: avgPoolShader,
    entryPoint: 'avgPoolBackward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.dOut, args.dX],
    params: avgPoolParams.pack(g),
    workgroups: dispatchFor(g.N * g.C * g.H * g.W, WORKGROUP_SIZE),
  };
}

export const avgPoolFamily: KernelFamily = {
  name: 'avgPool',
  shader: avgPoolShader,
  entryPoints: { avgPoolForward: avgPoolParams, avgPoolBackward: avgPoolParams },
};
