/**
 * Bias kernels (shaders/bias.wgsl) on [N, C, S] tensors (S = H*W after a convolution, 1 after a
 * dense layer): an in-place x = f(x + bias[c]) with the activation fused in, and dBias[c] as the
 * sum of dOut over batch and space, one workgroup per channel with a tree reduction in workgroup
 * memory (deterministic, no atomics), as many lanes per channel as the adapter runs best
 * (channelSumLanes, ./channelSum).
 */
import { dispatchFor, grid1d, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import type { BiasAddForwardArgs, BiasBackwardArgs } from './bias.cpu';
import { checkChannelLanes, channelTreeSize, MAX_CHANNEL_LANES } from './channelSum';
import { expectCount, expectWhole } from './checks';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/bias.wgsl?raw';

export const biasShader = familyShader('bias', source);
export const biasParams = defineParams('Params', { N: 'u32', C: 'u32', S: 'u32' });

/** Elementwise forward: 64 per workgroup, so a grid past 65535 workgroups is only ~4M elements. */
const FORWARD_WORKGROUP_SIZE = 64;

function checkSizes(label: string, N: number, C: number, S: number): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'C', C);
  expectWhole(label, 'S', S);
}

export function biasAddForward(args: BiasAddForwardArgs<GpuTensor>): KernelCall {
  const { x, bias, N, C, S } = args;
  const activation = args.activation ?? 'none';
  const label = 'bias.biasAddForward';
  checkSizes(label, N, C, S);
  expectCount(label, 'x', x, N * C * S);
  expectCount(label, 'bias', bias, C);
  return {
    label: `${label}(${N}x${C}x${S}, ${activation})`,
    shader: biasShader,
    entryPoint: 'biasAddForward',
    constants: { workgroupSize: FORWARD_WORKGROUP_SIZE, activation: activationCode[activation] },
    tensors: [bias, x], // read before read_write: bias binds first although args lists x first
    params: biasParams.pack({ N, C, S }),
    workgroups: dispatchFor(N * C * S, FORWARD_WORKGROUP_SIZE),
  };
}

/**
 * Terms per channel up to which one invocation per channel beats a workgroup tree. Past it the
 * tree wins for feature maps (S > 1); for dense rows (S = 1) the serial loop's lanes read adjacent
 * channels of one row together, and on lavapipe it stays ~10x faster at any batch (2026-12-04,
 * N x C = 1024 x 64: 0.21 vs 2.07 ms; 8192 x 128: 2.6 vs 7.3 ms): a transformer's token rows.
 */
const SERIAL_MAX_TERMS = 256;

/**
 * dBias = Σ dOut over batch and space. `lanes` (a power of two, 8 to 256; channelSumLanes of the
 * adapter) caps the threads that share a channel's tree.
 */
export function biasBackward(
  args: BiasBackwardArgs<GpuTensor>,
  lanes = MAX_CHANNEL_LANES,
): KernelCall {
  const { dOut, dBias, N, C, S } = args;
  const label = 'bias.biasBackward';
  checkSizes(label, N, C, S);
  expectCount(label, 'dOut', dOut, N * C * S);
  expectCount(label, 'dBias', dBias, C);
  checkChannelLanes(label, lanes);
  if (N * S <= SERIAL_MAX_TERMS || S === 1) return serialBackward(args);
  const quads = S % 4 === 0;
  const workgroupSize = channelTreeSize((N * S) / (quads ? 4 : 1), lanes);
  return {
    label: `${label}(${N}x${C}x${S}${quads ? ', vec4' : ''}, ${workgroupSize} lanes)`,
    shader: biasShader,
    entryPoint: quads ? 'biasBackwardQuads' : 'biasBackward',
    constants: { workgroupSize },
    tensors: [dOut, dBias],
    params: biasParams.pack({ N, C, S }),
    workgroups: grid1d(C),
  };
}

/**
 * One invocation per channel (biasBackwardSerial), or per 4 channels of dense rows
 * (biasBackwardRowQuads: S = 1, C % 4 == 0, the serial sums bit for bit from a quarter of the
 * loads; a convolution's weight gradient of 16 partial sums of 51,200 took 2.2 ms serial on
 * lavapipe). The args are checked.
 */
function serialBackward({ dOut, dBias, N, C, S }: BiasBackwardArgs<GpuTensor>): KernelCall {
  if (S === 1 && C % 4 === 0)
    return {
      label: `bias.biasBackward(${N}x${C}x1, vec4 rows)`,
      shader: biasShader,
      entryPoint: 'biasBackwardRowQuads',
      constants: { workgroupSize: FORWARD_WORKGROUP_SIZE },
      tensors: [dOut, dBias],
      params: biasParams.pack({ N, C, S }),
      workgroups: dispatchFor(C / 4, FORWARD_WORKGROUP_SIZE),
    };
  return {
    label: `bias.biasBackward(${N}x${C}x${S}, serial)`,
    shader: biasShader,
    entryPoint: 'biasBackwardSerial',
    constants: { workgroupSize: FORWARD_WORKGROUP_SIZE },
    tensors: [dOut, dBias],
    params: biasParams.pack({ N, C, S }),
    workgroups: dispatchFor(C, FORWARD_WORKGROUP_SIZE),
  };
}

export const biasFamily: KernelFamily = {
  name: 'bias',
  shader: biasShader,
  entryPoints: {
    biasAddForward: biasParams,
    biasBackward: biasParams,
    biasBackwardQuads: biasParams,
    biasBackwardSerial: biasParams,
    biasBackwardRowQuads: biasParams,
  },
  workgroupMemory: ['biasBackward', 'biasBackwardQuads'],
};
