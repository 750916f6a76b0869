/**
 * The next token of a language model drawn on the GPU (shaders/sample.wgsl): softmax(logits /
 * temperature) over the top k of one row of logits [rows, V], inverted at a host-drawn u. The
 * draw's row, u, temperature and k sit in a u32 [4] tensor the host writes per token (packDraw),
 * so one built call serves every token; the id lands in a u32 [1] tensor (NO_TOKEN when the row
 * holds a NaN or an infinite logit). One workgroup: deterministic.
 */
import { type KernelCall } from '../gpu/dispatch';
import type { DType, GpuTensor } from '../gpu/tensor';
import { defineParams } from '../gpu/uniforms';
import { expectCount, expectDtype, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/sample.wgsl?raw';

export const sampleShader = familyShader('sample', source);
export const sampleParams = defineParams('Params', { rows: 'u32', V: 'u32' });

/** The single workgroup; at most the shader's maxWorkgroupSize. */
const WORKGROUP_SIZE = 64;

export interface SampleTokenGpuArgs {
  /** [rows, V] f32 logits. */
  logits: GpuTensor;
  /** u32 [4]: the packed draw (packDraw), written before each submit. */
  draw: GpuTensor;
  /** u32 [1]: the drawn id. */
  token: GpuTensor;
  rows: number;
  V: number;
}

export function sampleToken({ logits, draw, token, rows, V }: SampleTokenGpuArgs): KernelCall {
  const label = 'sample.sampleToken';
  expectWhole(label, 'rows', rows);
  expectWhole(label, 'V', V);
  const expected: readonly [string, GpuTensor, number, DType][] = [
    ['logits', logits, rows * V, 'f32'],
    ['draw', draw, 4, 'u32'],
    ['token', token, 1, 'u32'],
  ];
  for (const [name, t, count, dtype] of expected) {
    expectCount(label, name, t, count);
    expectDtype(label, name, t, dtype);
  }
  return {
    label: `${label}(${rows}x${V})`,
    shader: sampleShader,
    entryPoint: 'sampleToken',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [logits, draw, token],
    params: sampleParams.pack({ rows, V }),
    workgroups: [1, 1, 1],
  };
}

export const sampleFamily: KernelFamily = {
  name: 'sample',
  shader: sampleShader,
  entryPoints: { sampleToken: sampleParams },
};
