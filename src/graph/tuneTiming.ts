/**
 * How the autotuner times (./tuner.ts for products, ./tuneRace.ts for convolution paths): the
 * default screened first, each other candidate screened against the best screen so far, then the
 * default and the candidates that stayed in the race timed in turns to a median each; another
 * replaces the default only by a margin.
 */
import type { Gpu } from '../gpu/device';
import type { KernelCall } from '../gpu/dispatch';
import { median, timeCalls } from '../gpu/timing';

/** Samples timed per finalist in the final round (the default included): their median decides. */
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
 * A first look at the default: one warm-up and one timed run (the screen the others are held to
 * until the final round), and how many samples the final round takes, by its length.
 */
export async function screenDefault(
  gpu: Gpu,
  calls: readonly KernelCall[],
): Promise<{ screen: number; samples: number }> {
  const screen = (await timeCandidate(gpu, calls, { warmup: 1, samples: 1 })).ms;
  return { screen, samples: screen < LONG_MS ? SAMPLES : LONG_SAMPLES };
}

/**
 * The final round: `samples` rounds of one run of each candidate's calls, in turns, and each
 * candidate's median, in the order given. In turns, a machine whose speed drifts while they are
 * timed (this project's VM moved by 1.5x within minutes) slows each candidate alike; timed one
 * after the other, a candidate timed in a slow minute can lose to a slower one (fc1's input
 * gradient had kept a shape that, timed beside the default later, ran 10% slower).
 */
export async function timeInTurns(
  gpu: Gpu,
  candidates: readonly (readonly KernelCall[])[],
  samples: number,
): Promise<number[]> {
  return mediansInTurns(candidates.length, samples, async (i) => {
    const calls = candidates[i] ?? [];
    return (await timeCandidate(gpu, calls, { warmup: 0, samples: 1 })).ms;
  });
}

/** `samples` rounds of `run(0)`, `run(1)`, ... `run(count - 1)`; the median of each one's times. */
export async function mediansInTurns(
  count: number,
  samples: number,
  run: (candidate: number) => Promise<number>,
): Promise<number[]> {
  const times = Array.from({ length: count }, (): number[] => []);
  for (let round = 0; round < samples; round++)
    for (const [i, mine] of times.entries()) mine.push(await run(i));
  return times.map(median);
}
