/**
 * Max pooling kernels (shaders/maxPool.wgsl): out = window maxima of an NCHW input plus the
 * argmax (flat h * W + w within each (n, c) plane, u32), and dX gathered from dOut through that
 * argmax. Shapes: x, dX [N, C, H, W]; out, argmax, dOut [N, C, OH, OW], from a PoolGeometry
 * (geometry.ts: no padding, floor mode). First maximum wins ties; NaN propagates.
 * Entry points maxPoolForward (one thread per output row), maxPoolBackward (one per input row,
 * optionally times the preceding activation's derivative), and for 2x2 windows of stride 2 over
 * an even width the *Pairs variants (input rows as vec2s); overrides workgroupSize, activation.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { ShadergradError } from '../base/errors';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { KernelFamily } from './family';
import type { MaxPoolBackwardArgs, MaxPoolForwardArgs } from './maxPool.cpu';
import { poolArgsProblem, poolEntryPoint } from './checks';
import { poolLabel, poolParamsFields } from './geometry';
import { activationCode } from './common.cpu';
import { familyShader } from './shader';
import source from '../../shaders/maxPool.wgsl?raw';

export const maxPoolShader = familyShader('maxPool', source);
export const maxPoolParams = defineParams('Params', poolParamsFields);

const WORKGROUP_SIZE = 256;

export type MaxPoolForwardEntry = 'maxPoolForward' | 'maxPoolForwardPairs';

/** Window maxima and their argmax; `entryPoint` forces one (maxPoolForward always works). */
export function maxPoolForward(
  args: MaxPoolForwardArgs<GpuTensor, GpuTensor>,
  entryPoint?: MaxPoolForwardEntry,
): KernelCall {
  const g = args.geometry;
  const chosen = poolEntryPoint(g, 'maxPool', 'maxPoolForward', 'maxPoolForwardPairs', entryPoint);
  const problem = poolArgsProblem(g, [
    ['x', args.x, 'in', 'f32'],
    ['out', args.out, 'out', 'f32'],
    ['argmax', args.argmax, 'out', 'u32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`maxPool.maxPoolForward: ${problem}`);
  return {
    label: `maxPool.maxPoolForward(${poolLabel(g)})`,
    shader: maxPoolShader,
    entryPoint: chosen,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [args.x, args.out, args.argmax],
    params: maxPoolParams.pack(g),
    workgroups: dispatchFor(g.N * g.C * g.OH, WORKGROUP_SIZE), // one invocation per output row
  };
}

export type MaxPoolBackwardEntry =
  'maxPoolBackward' | 'maxPoolBackwardDisjoint' | 'maxPoolBackwardPairs';

/**
 * Gather: one invocation per input row sums dOut over the windows that chose each element; with
 * `activation`, also multiplies by f' (the gradient of the layer before the pool, fused). When
 * windows cannot overlap (stride >= kernel) maxPoolBackwardDisjoint gives the same values with
 * one invocation per output row; `entryPoint` forces one (the general one always works).
 */
export function maxPoolBackward(
  args: MaxPoolBackwardArgs<GpuTensor, GpuTensor>,
  entryPoint?: MaxPoolBackwardEntry,
): KernelCall {
  const g = args.geometry;
  const activation = args.activation ?? 'none';
  const fused = activation !== 'none';
  if (fused && !args.out)
    throw new ShadergradError('maxPool.maxPoolBackward: a fused activation needs the forward out');
  // Unfused, `pooled` is never read; dOut has its shape and dtype, so it stands in for it.
  const pooled = args.out ?? args.dOut;
  const problem = poolArgsProblem(g, [
    ['dOut', args.dOut, 'out', 'f32'],
    ['argmax', args.argmax, 'out', 'u32'],
    ['out', pooled, 'out', 'f32'],
    ['dX', args.dX, 'in', 'f32'],
  ]);
  if (problem !== undefined) throw new ShadergradError(`maxPool.maxPoolBackward: ${problem}`);
  // Windows that cannot overlap let each output row write its input rows window by window.
  const canBeDisjoint = g.strideH >= g.KH && g.strideW >= g.KW;
  const general = canBeDisjoint ? 'maxPoolBackwardDisjoint' : 'maxPoolBackward';
  const chosen = poolEntryPoint(g, 'maxPool', general, 'maxPoolBackwardPairs', entryPoint);
  if (chosen === 'maxPoolBackwardDisjoint' && !canBeDisjoint)
    throw new ShadergradError('maxPool.maxPoolBackwardDisjoint: windows overlap (stride < kernel)');
  const disjoint = chosen !== 'maxPoolBackward'; // one invocation per output row
  return {
    label: `maxPool.maxPoolBackward(${poolLabel(g)}${fused ? `, ${activation}'` : ''})`,
    shader: maxPoolShader,
    entryPoint: chosen,
    constants: { workgroupSize: WORKGROUP_SIZE, activation: activationCode[activation] },
    tensors: [args.dOut, args.argmax, pooled, args.dX],
    params: maxPoolParams.pack(g),
    // one invocation per output row (disjoint) or per input row
    workgroups: dispatchFor(g.N * g.C * (disjoint ? g.OH : g.H), WORKGROUP_SIZE),
  };
}

export const maxPoolFamily: KernelFamily = {
  name: 'maxPool',
  shader: maxPoolShader,
  entryPoints: {
    maxPoolForward: maxPoolParams,
    maxPoolForwardPairs: maxPoolParams,
    maxPoolBackward: maxPoolParams,
    maxPoolBackwardDisjoint: maxPoolParams,
    maxPoolBackwardPairs: maxPoolParams,
  },
};
