/**
 * Layer normalization over the last axis (shaders/layerNorm.wgsl), torch.nn.LayerNorm with
 * elementwise affine: x, y, dY, dX [rows, D]; weight, bias [D]; the forward keeps each row's mean
 * and rstd = 1/sqrt(variance + eps) [rows] for the backward. One invocation per row for the
 * forward and dX, one per column for dWeight and dBias (rows summed in order): deterministic.
 */
import { ShadergradError } from '../base/errors';
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import { defineParams } from '../gpu/uniforms';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import type { LayerNormBackwardArgs, LayerNormForwardArgs } from './layerNorm.cpu';
import { familyShader } from './shader';
import source from '../../shaders/layerNorm.wgsl?raw';

export const layerNormShader = familyShader('layerNorm', source);
export const layerNormParams = defineParams('Params', { rows: 'u32', D: 'u32', eps: 'f32' });

const WORKGROUP_SIZE = 64;

type Entry = 'layerNormForward' | 'layerNormBackwardData' | 'layerNormBackwardParams';

/** Checks the tensors (f32; [rows, D], [D] or [rows] by name) and builds the call. */
function call(
  entry: Entry,
  sizes: { rows: number; D: number; eps: number },
  tensors: Readonly<Record<string, GpuTensor>>,
  invocations: number,
): KernelCall {
  const label = `layerNorm.${entry}`;
  const { rows, D, eps } = sizes;
  expectWhole(label, 'rows', rows);
  expectWhole(label, 'D', D);
  const perRow = new Set(['mean', 'rstd']);
  const perColumn = new Set(['weight', 'bias', 'dWeight', 'dBias']);
  for (const [name, t] of Object.entries(tensors)) {
    expectDtype(label, name, t, 'f32');
    expectCount(label, name, t, perRow.has(name) ? rows : perColumn.has(name) ? D : rows * D);
  }
  return {
    label: `${label}(${rows}x${D})`,
    shader: layerNormShader,
    entryPoint: entry,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: Object.values(tensors),
    params: layerNormParams.pack({ rows, D, eps }),
    workgroups: dispatchFor(invocations, WORKGROUP_SIZE),
  };
}

/** y = (x - mean) rstd weight + bias per row; writes mean and rstd for the backward. */
export function layerNormForward(args: LayerNormForwardArgs<GpuTensor>): KernelCall {
  const { x, weight, bias, y, mean, rstd, rows, D, eps } = args;
  // eps = 0 divides by zero on a constant row; NaN or Infinity would poison every y
  if (!(eps > 0 && Number.isFinite(eps)))
    throw new ShadergradError(`layerNorm.layerNormForward: eps = ${eps}, expected finite and > 0`);
  const tensors = { x, weight, bias, y, mean, rstd };
  return call('layerNormForward', { rows, D, eps }, tensors, rows);
}

/** dWeight and dBias (one call), then dX when asked for (a second). */
export function layerNormBackward(args: LayerNormBackwardArgs<GpuTensor>): KernelCall[] {
  const { x, weight, mean, rstd, dY, dX, dWeight, dBias, rows, D } = args;
  const sizes = { rows, D, eps: 0 }; // the backward reads no eps: rstd carries it
  const calls = [call('layerNormBackwardParams', sizes, { x, mean, rstd, dY, dWeight, dBias }, D)];
  if (dX) calls.push(call('layerNormBackwardData', sizes, { x, weight, mean, rstd, dY, dX }, rows));
  return calls;
}

export const layerNormFamily: KernelFamily = {
  name: 'layerNorm',
  shader: layerNormShader,
  entryPoints: {
    layerNormForward: layerNormParams,
    layerNormBackwardData: layerNormParams,
    layerNormBackwardParams: layerNormParams,
  },
};
