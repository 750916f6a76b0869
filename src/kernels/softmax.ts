/**
 * Softmax over the last axis (shaders/softmax.wgsl) with a fused scale and an optional causal
 * mask, the attention probabilities softmax(scale S + causalMask, dim=-1): x, y, dY, dX are
 * [rows, L] row-major; causal rows are queries t = r % L of [T, T] score matrices and keep the
 * columns j <= t (y = 0 exactly above the diagonal). The backward is dX = scale y (dY - <y, dY>).
 * One invocation per row, columns in a fixed order: deterministic, and on a CPU Vulkan driver
 * faster than a workgroup per row (no barriers); attention's rows (batch * heads * T) fill the grid.
 */
import { ShadergradError } from '../base/errors';
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import { defineParams } from '../gpu/uniforms';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import type { SoftmaxBackwardArgs, SoftmaxForwardArgs } from './softmax.cpu';
import source from '../../shaders/softmax.wgsl?raw';

export const softmaxShader = familyShader('softmax', source);
export const softmaxParams = defineParams('Params', {
  rows: 'u32',
  L: 'u32',
  scale: 'f32',
  causal: 'u32',
});

/** One invocation per row. */
const WORKGROUP_SIZE = 64;

type Entry = 'softmaxForward' | 'softmaxBackward';

/**
 * Checks sizes, scale and the [rows, L] f32 tensors (named, in binding order), then builds the
 * call. The scale is checked as the f32 the shader gets: 1e-50 would round to 0 there.
 */
function call(
  entry: Entry,
  { rows, L, scale, causal }: { rows: number; L: number; scale: number; causal: boolean },
  tensors: Readonly<Record<string, GpuTensor>>,
): KernelCall {
  const label = `softmax.${entry}`;
  expectWhole(label, 'rows', rows);
  expectWhole(label, 'L', L);
  if (causal && rows % L !== 0)
    throw new ShadergradError(
      `${label}: causal needs rows (${rows}) to be a multiple of L (${L}): [..., T, T] scores`,
    );
  const scale32 = Math.fround(scale);
  if (!(Number.isFinite(scale32) && scale32 > 0))
    throw new ShadergradError(`${label}: scale = ${scale}, expected a finite float32 > 0`);
  for (const [name, t] of Object.entries(tensors)) {
    expectCount(label, name, t, rows * L);
    expectDtype(label, name, t, 'f32');
  }
  return {
    label: `${label}(${rows}x${L}${causal ? ', causal' : ''})`,
    shader: softmaxShader,
    entryPoint: entry,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: Object.values(tensors),
    params: softmaxParams.pack({ rows, L, scale, causal: causal ? 1 : 0 }),
    workgroups: dispatchFor(rows, WORKGROUP_SIZE),
  };
}

/** y = softmax(scale x + causalMask) per row of [rows, L]; y must not alias x. */
export function softmaxForward(args: SoftmaxForwardArgs<GpuTensor>): KernelCall {
  const { x, y } = args;
  return call('softmaxForward', args, { x, y });
}

/** dX = scale y (dY - <y, dY>) per row, from the forward's y (whose zeros carry any mask). */
export function softmaxBackward(args: SoftmaxBackwardArgs<GpuTensor>): KernelCall {
  const { y, dY, dX } = args;
  return call('softmaxBackward', { ...args, causal: false }, { y, dY, dX });
}

export const softmaxFamily: KernelFamily = {
  name: 'softmax',
  shader: softmaxShader,
  entryPoints: { softmaxForward: softmaxParams, softmaxBackward: softmaxParams },
};
