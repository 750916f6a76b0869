/**
 * How many threads share one channel's sum in the tree reductions that run one workgroup per
 * channel (biasBackward, batchNormStats, batchNormBackwardReduce): the rule, written once.
 */
import { ShadergradError, type AdapterKind } from '../base/errors';

/** The most lanes per channel: the length of the shaders' workgroup arrays. */
export const MAX_CHANNEL_LANES = 256;
/** The fewest: one SIMD group of lavapipe (8 lanes with AVX2). */
const MIN_CHANNEL_LANES = 8;

/**
 * Lanes that share one channel's sum on this kind of adapter. A GPU wants many (coalesced reads,
 * latency hidden across warps); a CPU "GPU" runs a workgroup as SIMD groups (8 lanes on lavapipe,
 * 4 on SwiftShader) and switches between them at every barrier of the tree, so few lanes win
 * there. Measured 2026-12-04 on biasBackward with vec4 reads, median of 11 (ms for 256 / 32 / 8
 * lanes): lavapipe [64, 32, 784] 2.36 / 1.11 / 0.85, [64, 64, 196] 2.75 / 0.79 / 0.59;
 * SwiftShader 28.1 / 7.2 / 5.7 and 39.1 / 6.7 / 3.5 (docs/kernels/bias.md).
 */
export function channelSumLanes(kind: AdapterKind): number {
  return kind === 'hardware' || kind === 'unknown' ? MAX_CHANNEL_LANES : MIN_CHANNEL_LANES;
}

/** Throws unless `lanes` is a power of two from 8 to 256. */
export function checkChannelLanes(label: string, lanes: number): void {
  const powerOfTwo = Number.isInteger(Math.log2(lanes));
  if (!powerOfTwo || lanes < MIN_CHANNEL_LANES || lanes > MAX_CHANNEL_LANES)
    throw new ShadergradError(
      `${label}: lanes must be a power of two from ${MIN_CHANNEL_LANES} to ${MAX_CHANNEL_LANES}, got ${lanes}`,
    );
}

/**
 * A channel tree's workgroup size: the smallest power of two from 8 that covers the loads one
 * channel makes, at most `lanes` (idle threads still cost time on a CPU "GPU").
 */
export function channelTreeSize(loadsPerChannel: number, lanes: number): number {
  let size = MIN_CHANNEL_LANES;
  while (size < loadsPerChannel && size < lanes) size *= 2;
  return size;
}
