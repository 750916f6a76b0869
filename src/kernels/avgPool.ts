/**
 * Average pooling kernels (shaders/avgPool.wgsl): out = window means of an NCHW input, and
 * dX = (sum of dOut over the windows covering each element) / (KH * KW), gathered per input
 * element so overlapping windows need no atomics. Shapes: x, dX [N, C, H, W]; out, dOut
 * [N, C, OH, OW], from a PoolGeometry (geometry.ts: no padding, floor mode).
 * Entry points avgPoolForward (one thread per output), avgPoolBackward (one per input element),
 * and for 2x2 windows of stride 2 over an even width the *Pairs variants (one thread per output
 * row, input rows as vec2s); override workgroupSize.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { AvgPoolBackwardArgs, AvgPoolForwardArgs } from './avgPool.cpu';
import type { KernelFamily } from './family';
import { poolArgsProblem, poolEntryPoint } from './checks';
import { poolLabel, poolParamsFields } from './geometry';
import { familyShader } from './shader';
import source from '../../shaders/avgPool.wgsl?raw';

export const avgPoolShader = familyShader('avgPool', source);
export const avgPoolParams = defineParams('Params', poolParamsFields);

const WORKGROUP_SIZE = 256;

export type AvgPoolForwardEntry = 'avgPoolForward' | 'avgPoolForwardPairs';
export type AvgPoolBackwardEntry = 'avgPoolBackward' | 'avgPoolBackwardPairs';

/** Window means; `entryPoint` forces one (avgPoolForward always works). */
export function avgPoolForward(
  args: AvgPoolForwardArgs<GpuTensor>,
  entryPoint?: AvgPoolForwardEntry,
): KernelCall {
  const g = args.geometry;
  const problem = poolArgsProblem(g, [
    ['x', args.x, 'in', 'f32'],
    ['out', args.out, 'out', 'f32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`avgPool.avgPoolForward: ${problem}`);
  const chosen = poolEntryPoint(g, 'avgPool', 'avgPoolForward', 'avgPoolForwardPairs', entryPoint);
  const threads = chosen === 'avgPoolForwardPairs' ? g.OH : g.OH * g.OW; // per plane
  return {
    label: `avgPool.avgPoolForward(${poolLabel(g)})`,
    shader: avgPoolShader,
    entryPoint: chosen,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.x, args.out],
    params: avgPoolParams.pack(g),
    workgroups: dispatchFor(g.N * g.C * threads, WORKGROUP_SIZE),
  };
}

/**
 * Gather: one invocation per input element sums dOut over the windows that cover it (the pairs
 * variant: one per output row); `entryPoint` forces one (avgPoolBackward always works).
 */
export function avgPoolBackward(
  args: AvgPoolBackwardArgs<GpuTensor>,
  entryPoint?: AvgPoolBackwardEntry,
): KernelCall {
  const g = args.geometry;
  const problem = poolArgsProblem(g, [
    ['dOut', args.dOut, 'out', 'f32'],
    ['dX', args.dX, 'in', 'f32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`avgPool.avgPoolBackward: ${problem}`);
  const chosen = poolEntryPoint(
    g,
    'avgPool',
    'avgPoolBackward',
    'avgPoolBackwardPairs',
    entryPoint,
  );
  const threads = chosen === 'avgPoolBackwardPairs' ? g.OH : g.H * g.W; // per plane
  return {
    label: `avgPool.avgPoolBackward(${poolLabel(g)})`,
    shader: avgPoolShader,
    entryPoint: chosen,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.dOut, args.dX],
    params: avgPoolParams.pack(g),
    workgroups: dispatchFor(g.N * g.C * threads, WORKGROUP_SIZE),
  };
}

export const avgPoolFamily: KernelFamily = {
  name: 'avgPool',
  shader: avgPoolShader,
  entryPoints: {
    avgPoolForward: avgPoolParams,
    avgPoolForwardPairs: avgPoolParams,
    avgPoolBackward: avgPoolParams,
    avgPoolBackwardPairs: avgPoolParams,
  },
};
