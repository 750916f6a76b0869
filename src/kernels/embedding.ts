/**
 * Embeddings (shaders/embedding.wgsl): the token lookup out[n] = table[tokens[n]] and its
 * deterministic gradient (each table element sums its positions in order, no atomics: one
 * workgroup per table row, or the naive one invocation per element, with the same bits), and the
 * add of a learned position table broadcast over the batch. tokens is u32 [N]; a token
 * >= V reads as NaN on the GPU (loud, not silent zeros); CharGpt checks tokens before uploading.
 */
import { dispatchFor, grid1d, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { expectCount, expectDtype, expectWhole } from './checks';
import type {
  EmbeddingBackwardArgs,
  EmbeddingForwardArgs,
  PositionAddForwardArgs,
} from './embedding.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/embedding.wgsl?raw';

export const embeddingShader = familyShader('embedding', source);
export const embeddingParams = defineParams('Params', { N: 'u32', V: 'u32', C: 'u32' });
export const positionAddParams = defineParams('AddParams', { B: 'u32', P: 'u32' });

/** embeddingForward: consecutive elements per invocation, the shader's FORWARD_RUN. */
const FORWARD_RUN = 4;
const WORKGROUP_SIZE = 64;
/**
 * embeddingBackward's lanes per table row: a power of two <= 256 (it divides the shader's tile).
 * On lavapipe 32 was as fast as 64 or faster at every size measured (2026-12-04, N x V x C =
 * 2048 x 96 x 64 to 8192 x 256 x 128), and 128 or 256 slower.
 */
const ROWS_WORKGROUP_SIZE = 32;

function checkSizes(label: string, tokens: GpuTensor, N: number, V: number, C: number): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'V', V);
  expectWhole(label, 'C', C);
  expectCount(label, 'tokens', tokens, N);
  if (tokens.dtype !== 'i32') expectDtype(label, 'tokens', tokens, 'u32');
}

export function embeddingForward(args: EmbeddingForwardArgs<GpuTensor, GpuTensor>): KernelCall {
  const { tokens, table, out, N, V, C } = args;
  const label = 'embedding.embeddingForward';
  checkSizes(label, tokens, N, V, C);
  expectCount(label, 'table', table, V * C);
  expectCount(label, 'out', out, N * C);
  return {
    label: `${label}(${N} tokens, ${V}x${C})`,
    shader: embeddingShader,
    entryPoint: 'embeddingForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [tokens, table, out],
    params: embeddingParams.pack({ N, V, C }),
    workgroups: dispatchFor(Math.ceil((N * C) / FORWARD_RUN), WORKGROUP_SIZE),
  };
}

/**
 * dTable from dOut, one workgroup per table row: the lanes list the row's positions once per tile
 * and add them in position order (embedding.wgsl). The same bits as embeddingBackwardNaive.
 */
export function embeddingBackward(args: EmbeddingBackwardArgs<GpuTensor, GpuTensor>): KernelCall {
  return backwardCall('embeddingBackward', args);
}

/** The baseline: one invocation per table element scans all N positions (V·C·N steps). */
export function embeddingBackwardNaive(
  args: EmbeddingBackwardArgs<GpuTensor, GpuTensor>,
): KernelCall {
  return backwardCall('embeddingBackwardNaive', args);
}

function backwardCall(
  entryPoint: 'embeddingBackward' | 'embeddingBackwardNaive',
  args: EmbeddingBackwardArgs<GpuTensor, GpuTensor>,
): KernelCall {
  const { tokens, dOut, dTable, N, V, C } = args;
  const label = `embedding.${entryPoint}`;
  checkSizes(label, tokens, N, V, C);
  expectCount(label, 'dOut', dOut, N * C);
  expectCount(label, 'dTable', dTable, V * C);
  const rows = entryPoint === 'embeddingBackward';
  return {
    label: `${label}(${N} tokens, ${V}x${C})`,
    shader: embeddingShader,
    entryPoint,
    constants: { workgroupSize: rows ? ROWS_WORKGROUP_SIZE : WORKGROUP_SIZE },
    tensors: [tokens, dOut, dTable],
    params: embeddingParams.pack({ N, V, C }),
    workgroups: rows ? grid1d(V) : dispatchFor(V * C, WORKGROUP_SIZE),
  };
}

/** out = x + pos, pos [P] broadcast over the B rows of x [B, P]; its gradient is biasBackward's. */
export function positionAddForward(args: PositionAddForwardArgs<GpuTensor>): KernelCall {
  const { x, pos, out, B, P } = args;
  const label = 'embedding.positionAddForward';
  expectWhole(label, 'B', B);
  expectWhole(label, 'P', P);
  expectCount(label, 'x', x, B * P);
  expectCount(label, 'pos', pos, P);
  expectCount(label, 'out', out, B * P);
  return {
    label: `${label}(${B}x${P})`,
    shader: embeddingShader,
    entryPoint: 'positionAddForward',
    constants: { workgroupSize: WORKGROUP_SIZE },
    tensors: [x, pos, out],
    params: positionAddParams.pack({ B, P }),
    workgroups: dispatchFor(B * P, WORKGROUP_SIZE),
  };
}

export const embeddingFamily: KernelFamily = {
  name: 'embedding',
  shader: embeddingShader,
  entryPoints: {
    embeddingForward: embeddingParams,
    embeddingBackward: embeddingParams,
    embeddingBackwardNaive: embeddingParams,
    positionAddForward: positionAddParams,
  },
  workgroupMemory: ['embeddingBackward'],
};
