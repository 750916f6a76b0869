/**
 * How the autotuner times (./tuner.ts for products, ./tuneConv.ts for convolution paths): a
 * default timed first to a median, the others against it, a replacement only by a margin.
 */
import type { Gpu } from '../gpu/device';
import type { KernelCall } from '../gpu/dispatch';
import { median, timeCalls } from '../gpu/timing';

/** Samples timed per finalist (the default included): their median decides. */
const SAMPLES = 5;
/** Work whose default takes LONG_MS or more gets LONG_SAMPLES: its medians vary less. */
const LONG_MS = 20;
const LONG_SAMPLES = 3;
/**
 * A finalist must beat the best so far by this fraction to replace it: on lavapipe the same
 * kernel's median moves by a few percent between runs, and the default was chosen by measurement.
 */
export const MARGIN = 0.03;
/** A screen (one timed run) over this multiple of the best so far ends a candidate. */
export const SCREEN_FACTOR = 1.5;

/** Median ms and the samples of `calls`, submitted together. */
export async function timeCandidate(
  gpu: Gpu,
  calls: readonly KernelCall[],
  how: { warmup: number; samples: number },
): Promise<{ ms: number; samples: number[] }> {
  const r = await timeCalls(gpu, calls, how);
  return { ms: r.medianMs, samples: r.samplesMs };
}

/**
 * The default's median: one warm-up and one screening run, then the rest of the samples its
 * length calls for. `samples` is how many every finalist gets.
 */
export async function timeDefault(
  gpu: Gpu,
  calls: readonly KernelCall[],
): Promise<{ ms: number; samples: number }> {
  const screen = (await timeCandidate(gpu, calls, { warmup: 1, samples: 1 })).ms;
  const samples = screen < LONG_MS ? SAMPLES : LONG_SAMPLES;
  const rest = await timeCandidate(gpu, calls, { warmup: 0, samples: samples - 1 });
  return { ms: median([screen, ...rest.samples]), samples };
}
