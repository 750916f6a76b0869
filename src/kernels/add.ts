/**
 * Add kernels (shaders/add.wgsl) on [N, C, S] tensors: a skip connection's out = f(a + b) (b like
 * a, or [N, C] broadcast over S), and for its backward and the executor's gradient sums: two
 * copies in one pass, one copy, an in-place accumulate, and the sum over S of a broadcast
 * operand's gradient (one invocation per (n, c), in order: deterministic).
 */
import { dispatchFor, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type {
  AddAccumulateArgs,
  AddBackwardArgs,
  AddCopyArgs,
  AddForwardArgs,
  AddSpatialSumArgs,
} from './add.cpu';
import { expectCount, expectWhole } from './checks';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/add.wgsl?raw';

export const addShader = familyShader('add', source);
export const addParams = defineParams('Params', { count: 'u32', S: 'u32', broadcast: 'u32' });
export const addCopyParams = defineParams('CopyParams', { count: 'u32' });
export const addSumParams = defineParams('SumParams', { rows: 'u32', S: 'u32' });

/** Elementwise: 64 per workgroup (a CPU "GPU" gains nothing from more). */
const WORKGROUP_SIZE = 64;
/** Elementwise: consecutive elements per invocation, the shader's RUN (one vec4 when whole). */
const RUN = 4;

/** The entry point: its vec4 sibling when count % 4 == 0 (and `quadsAllowed`). */
function entryFor(entryPoint: string, count: number, quadsAllowed = true): string {
  return quadsAllowed && count % RUN === 0 ? `${entryPoint}Quads` : entryPoint;
}

export function addForward(args: AddForwardArgs<GpuTensor>): KernelCall {
  const { a, b, out, N, C, S } = args;
  const broadcast = args.broadcast ?? 'none';
  const activation = args.activation ?? 'none';
  const label = 'add.addForward';
  for (const [k, v] of Object.entries({ N, C, S })) expectWhole(label, k, v);
  const count = N * C * S;
  expectCount(label, 'a', a, count);
  expectCount(label, 'b', b, broadcast === 'spatial' ? N * C : count);
  expectCount(label, 'out', out, count);
  return {
    label: `${label}(${N}x${C}x${S}, ${broadcast}, ${activation})`,
    shader: addShader,
    entryPoint: entryFor('addForward', count, broadcast === 'none'),
    constants: { workgroupSize: WORKGROUP_SIZE, activation: activationCode[activation] },
    tensors: [a, b, out],
    params: addParams.pack({ count, S, broadcast: broadcast === 'spatial' ? 1 : 0 }),
    workgroups: dispatchFor(Math.ceil(count / RUN), WORKGROUP_SIZE),
  };
}

function elementwise(
  entryPoint: 'addBackward' | 'addCopy' | 'addAccumulate',
  tensors: Record<string, GpuTensor>,
  count: number,
): KernelCall {
  const label = `add.${entryPoint}`;
  expectWhole(label, 'count', count);
  for (const [name, t] of Object.entries(tensors)) expectCount(label, name, t, count);
  return {
    label: `${label}(${count})`,
    shader: addShader,
    entryPoint: entryFor(entryPoint, count),
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: Object.values(tensors),
    params: addCopyParams.pack({ count }),
    workgroups: dispatchFor(Math.ceil(count / RUN), WORKGROUP_SIZE),
  };
}

export function addBackward({ dOut, dA, dB, count }: AddBackwardArgs<GpuTensor>): KernelCall {
  return elementwise('addBackward', { dOut, dA, dB }, count);
}

export function addCopy({ source, target, count }: AddCopyArgs<GpuTensor>): KernelCall {
  return elementwise('addCopy', { source, target }, count);
}

export function addAccumulate({ source, target, count }: AddAccumulateArgs<GpuTensor>): KernelCall {
  return elementwise('addAccumulate', { source, target }, count);
}

export function addSpatialSum({ dOut, dB, N, C, S }: AddSpatialSumArgs<GpuTensor>): KernelCall {
  const label = 'add.addSpatialSum';
  for (const [k, v] of Object.entries({ N, C, S })) expectWhole(label, k, v);
  expectCount(label, 'dOut', dOut, N * C * S);
  expectCount(label, 'dB', dB, N * C);
  return {
    label: `${label}(${N}x${C}x${S})`,
    shader: addShader,
    entryPoint: 'addSpatialSum',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [dOut, dB],
    params: addSumParams.pack({ rows: N * C, S }),
    workgroups: dispatchFor(N * C, WORKGROUP_SIZE),
  };
}

export const addFamily: KernelFamily = {
  name: 'add',
  shader: addShader,
  entryPoints: {
    addForward: addParams,
    addForwardQuads: addParams,
    addBackward: addCopyParams,
    addBackwardQuads: addCopyParams,
    addCopy: addCopyParams,
    addCopyQuads: addCopyParams,
    addAccumulate: addCopyParams,
    addAccumulateQuads: addCopyParams,
    addSpatialSum: addSumParams,
  },
};
