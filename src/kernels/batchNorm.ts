/**
 * Batch normalization kernels (shaders/batchNorm.wgsl), torch.nn.BatchNorm1d/2d on [N, C, S]
 * tensors (S = H*W, or 1 on [N, C]), M = N*S values per channel:
 * - batchNormStats: per-channel mean and biased variance, two deterministic tree reductions (the
 *   mean, then the squared deviations from it), one workgroup per channel;
 * - batchNormForward: y = f(xhat * weight + bias), with batch or running statistics;
 * - batchNormRunningUpdate: torch's running averages (unbiased variance, momentum);
 * - batchNormBackward: dBias and dWeight in one reduction, then dX elementwise (training mode).
 * Channels of at most SERIAL_MAX_TERMS values take the one-invocation-per-channel variants.
 */
import { dispatchFor, grid1d, type KernelCall } from '../gpu/dispatch';
import { defineParams } from '../gpu/uniforms';
import type { GpuTensor } from '../gpu/tensor';
import { ShadergradError } from '../base/errors';
import {
  checkRunningCount,
  type BatchNormBackwardArgs,
  type BatchNormForwardArgs,
  type BatchNormRunningUpdateArgs,
  type BatchNormStatsArgs,
} from './batchNorm.cpu';
import { checkChannelLanes, channelTreeSize, MAX_CHANNEL_LANES } from './channelSum';
import { expectCount, expectWhole } from './checks';
import { activationCode } from './common.cpu';
import type { KernelFamily } from './family';
import { familyShader } from './shader';
import source from '../../shaders/batchNorm.wgsl?raw';

export const batchNormShader = familyShader('batchNorm', source);
export const batchNormStatsParams = defineParams('StatsParams', { N: 'u32', C: 'u32', S: 'u32' });
export const batchNormParams = defineParams('Params', { N: 'u32', C: 'u32', S: 'u32', eps: 'f32' });
export const batchNormRunningParams = defineParams('RunningParams', {
  C: 'u32',
  count: 'u32',
  momentum: 'f32',
});

/** Elementwise and per-channel-serial entry points: 64 per workgroup. */
const ELEMENTWISE_WORKGROUP_SIZE = 64;
/**
 * Values per channel up to which one invocation per channel beats a workgroup tree (BatchNorm1d:
 * M = the batch). Above it a channel fills at least one value per lane of the 256-lane tree.
 */
export const SERIAL_MAX_TERMS = 256;

interface Shape {
  N: number;
  C: number;
  S: number;
}

function checkShape(label: string, { N, C, S }: Shape, data: Record<string, GpuTensor>): void {
  expectWhole(label, 'N', N);
  expectWhole(label, 'C', C);
  expectWhole(label, 'S', S);
  for (const [name, t] of Object.entries(data)) expectCount(label, name, t, N * C * S);
}

function checkChannels(label: string, C: number, perChannel: Record<string, GpuTensor>): void {
  for (const [name, t] of Object.entries(perChannel)) expectCount(label, name, t, C);
}

function checkEps(label: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new ShadergradError(`${label}: eps = ${eps}, expected a small positive number`);
}

/** Vec4s per row from which a workgroup per row beats one invocation per element. */
const ROW_MIN_QUADS = 8;

/**
 * How an elementwise pass (Forward, BackwardData) runs: by rows (`${entryPoint}Rows`, one
 * workgroup per row (n, c) striding over its S / 4 vec4s) when S % 4 == 0 and rows have at least
 * ROW_MIN_QUADS vec4s, else one invocation per element.
 */
function elementwise(entryPoint: string, { N, C, S }: Shape) {
  const quads = S / 4;
  if (S % 4 !== 0 || quads < ROW_MIN_QUADS)
    return {
      entryPoint,
      size: ELEMENTWISE_WORKGROUP_SIZE,
      workgroups: dispatchFor(N * C * S, ELEMENTWISE_WORKGROUP_SIZE),
    };
  // Lanes in multiples of 8 (lavapipe's SIMD width) up to 64: a row of 49 vec4s leaves 7 idle.
  const size = Math.min(ELEMENTWISE_WORKGROUP_SIZE, Math.ceil(quads / 8) * 8);
  return { entryPoint: `${entryPoint}Rows`, size, workgroups: grid1d(N * C) };
}

/**
 * A channel reduction: the tree entry point (one workgroup per channel, of at most `lanes`
 * threads: channelSumLanes of the adapter) or its serial sibling.
 */
function reduction(entryPoint: string, { N, C, S }: Shape, lanes: number) {
  checkChannelLanes(`batchNorm.${entryPoint}`, lanes);
  const serial = N * S <= SERIAL_MAX_TERMS;
  const size = serial ? ELEMENTWISE_WORKGROUP_SIZE : channelTreeSize(N * S, lanes);
  return {
    suffix: serial ? ', serial' : '',
    entryPoint: serial ? `${entryPoint}Serial` : entryPoint,
    constants: { workgroupSize: size },
    workgroups: serial ? dispatchFor(C, size) : grid1d(C),
  };
}

/**
 * mean[c] and the biased variance[c] of x over n and s (see the file header); `lanes` as in
 * biasBackward (channelSumLanes).
 */
export function batchNormStats(
  args: BatchNormStatsArgs<GpuTensor>,
  lanes = MAX_CHANNEL_LANES,
): KernelCall {
  const { x, mean, variance, N, C, S } = args;
  const label = 'batchNorm.batchNormStats';
  checkShape(label, args, { x });
  checkChannels(label, C, { mean, variance });
  const { suffix, ...call } = reduction('batchNormStats', args, lanes);
  return {
    label: `${label}(${N}x${C}x${S}${suffix})`,
    shader: batchNormShader,
    ...call,
    tensors: [x, mean, variance],
    params: batchNormStatsParams.pack({ N, C, S }),
  };
}

/** y = f((x - mean[c]) / sqrt(variance[c] + eps) * weight[c] + bias[c]); y must not alias x. */
export function batchNormForward(args: BatchNormForwardArgs<GpuTensor>): KernelCall {
  const { x, mean, variance, weight, bias, y, N, C, S, eps } = args;
  const activation = args.activation ?? 'none';
  const label = 'batchNorm.batchNormForward';
  checkShape(label, args, { x, y });
  checkChannels(label, C, { mean, variance, weight, bias });
  checkEps(label, eps);
  const { entryPoint, size, workgroups } = elementwise('batchNormForward', args);
  return {
    label: `${label}(${N}x${C}x${S}, ${activation})`,
    shader: batchNormShader,
    entryPoint,
    constants: { workgroupSize: size, activation: activationCode[activation] },
    tensors: [x, mean, variance, weight, bias, y],
    params: batchNormParams.pack({ N, C, S, eps }),
    workgroups,
  };
}

/** torch.nn.BatchNorm's running mean and (unbiased) variance; count = N*S must be >= 2. */
export function batchNormRunningUpdate(args: BatchNormRunningUpdateArgs<GpuTensor>): KernelCall {
  const { mean, variance, runningMean, runningVar, C, count, momentum } = args;
  const label = 'batchNorm.batchNormRunningUpdate';
  expectWhole(label, 'C', C);
  checkRunningCount(label, count);
  checkChannels(label, C, { mean, variance, runningMean, runningVar });
  return {
    label: `${label}(${C}, count ${count})`,
    shader: batchNormShader,
    entryPoint: 'batchNormRunningUpdate',
    constants: { workgroupSize: ELEMENTWISE_WORKGROUP_SIZE },
    tensors: [mean, variance, runningMean, runningVar],
    params: batchNormRunningParams.pack({ C, count, momentum }),
    workgroups: dispatchFor(C, ELEMENTWISE_WORKGROUP_SIZE),
  };
}

/**
 * The training-mode gradient: dBias[c] = sum dY and dWeight[c] = sum dY * xhat (one reduction),
 * then, when dX is given, dX = weight invStd / M (M dY - dBias - xhat dWeight) (elementwise, reads
 * the reduction's outputs). dY is the gradient before the activation. Overwrites dWeight, dBias.
 * `lanes`: the reduction's threads per channel, as in batchNormStats.
 */
export function batchNormBackward(
  args: BatchNormBackwardArgs<GpuTensor>,
  lanes = MAX_CHANNEL_LANES,
): KernelCall[] {
  const { x, dY, mean, variance, weight, dWeight, dBias, dX, N, C, S, eps } = args;
  const label = 'batchNorm.batchNormBackward';
  checkShape(label, args, dX ? { x, dY, dX } : { x, dY });
  checkChannels(label, C, { mean, variance, weight, dWeight, dBias });
  checkEps(label, eps);
  const params = batchNormParams.pack({ N, C, S, eps });
  const { suffix, ...call } = reduction('batchNormBackwardReduce', args, lanes);
  const reduce: KernelCall = {
    label: `batchNorm.batchNormBackwardReduce(${N}x${C}x${S}${suffix})`,
    shader: batchNormShader,
    ...call,
    tensors: [x, dY, mean, variance, dWeight, dBias],
    params,
  };
  if (!dX) return [reduce];
  const { entryPoint, size, workgroups } = elementwise('batchNormBackwardData', args);
  const data: KernelCall = {
    label: `batchNorm.batchNormBackwardData(${N}x${C}x${S})`,
    shader: batchNormShader,
    entryPoint,
    constants: { workgroupSize: size },
    tensors: [x, dY, mean, variance, weight, dWeight, dBias, dX],
    params,
    workgroups,
  };
  return [reduce, data];
}

export const batchNormFamily: KernelFamily = {
  name: 'batchNorm',
  shader: batchNormShader,
  entryPoints: {
    batchNormStats: batchNormStatsParams,
    batchNormStatsSerial: batchNormStatsParams,
    batchNormForward: batchNormParams,
    batchNormForwardRows: batchNormParams,
    batchNormRunningUpdate: batchNormRunningParams,
    batchNormBackwardReduce: batchNormParams,
    batchNormBackwardReduceSerial: batchNormParams,
    batchNormBackwardData: batchNormParams,
    batchNormBackwardDataRows: batchNormParams,
  },
  workgroupMemory: ['batchNormStats', 'batchNormBackwardReduce'],
};
