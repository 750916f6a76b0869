/**
 * Concatenation along the channels (shaders/concat.wgsl): each call copies one input [N, C, S]
 * into its channel slice of the output [N, outC, S] (forward), or the slice's gradient back out
 * (backward). Copies only, so results are exact.
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { KernelError } from '../base/errors';
import type { ConcatBackwardArgs, ConcatForwardArgs } from './concat.cpu';
import { expectCount, expectWhole } from './checks';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/concat.wgsl?raw';

export const concatShader = familyShader('concat', source);
export const concatParams = defineParams('Params', {
  N: 'u32',
  C: 'u32',
  S: 'u32',
  outC: 'u32',
  channelOffset: 'u32',
});

const WORKGROUP_SIZE = 64;

interface SliceDims {
  N: number;
  C: number;
  S: number;
  outC: number;
  channelOffset: number;
}

function checkSlice(
  label: string,
  d: SliceDims,
  slice: [string, GpuTensor],
  full: [string, GpuTensor],
): void {
  for (const k of ['N', 'C', 'S', 'outC'] as const) expectWhole(label, k, d[k]);
  expectWhole(label, 'channelOffset', d.channelOffset, 0);
  if (d.channelOffset + d.C > d.outC)
    throw new KernelError(
      label,
      `channels ${d.channelOffset}..${d.channelOffset + d.C - 1} do not fit in the output's ${d.outC}`,
    );
  expectCount(label, slice[0], slice[1], d.N * d.C * d.S);
  expectCount(label, full[0], full[1], d.N * d.outC * d.S);
}

function sliceCall(
  entryPoint: 'concatForward' | 'concatBackward',
  d: SliceDims,
  tensors: [GpuTensor, GpuTensor],
): KernelCall {
  const { N, C, S, outC, channelOffset } = d;
  return {
    label: `concat.${entryPoint}(${N}x${C}x${S} at ${channelOffset} of ${outC})`,
    shader: concatShader,
    entryPoint,
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors,
    params: concatParams.pack({ N, C, S, outC, channelOffset }),
    workgroups: dispatchFor(N * C * S, WORKGROUP_SIZE),
  };
}

export function concatForward(args: ConcatForwardArgs<GpuTensor>): KernelCall {
  checkSlice('concat.concatForward', args, ['x', args.x], ['out', args.out]);
  return sliceCall('concatForward', args, [args.x, args.out]);
}

export function concatBackward(args: ConcatBackwardArgs<GpuTensor>): KernelCall {
  checkSlice('concat.concatBackward', args, ['dX', args.dX], ['dOut', args.dOut]);
  return sliceCall('concatBackward', args, [args.dOut, args.dX]);
}

export const concatFamily: KernelFamily = {
  name: 'concat',
  shader: concatShader,
  entryPoints: { concatForward: concatParams, concatBackward: concatParams },
};
