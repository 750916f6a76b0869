/**
 * How the autotuner times (./tuner.ts for products, ./tuneRace.ts for convolution paths): the
 * default screened first, each other candidate screened against the best screen so far, then the
 * default and the candidates that stayed in the race timed in turns to a median each (their
 * screens included); another replaces the default only by a margin.
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
/**
 * A screen over SCREEN_FACTOR but not over this multiple of the best gets a second run first, and
 * the faster of the two stands (screenWithSecondLook). Past it a candidate is slow, not unlucky.
 */
export const SECOND_LOOK_FACTOR = 3;

/** Median ms and the samples of `calls`, submitted together. */
export async function timeCandidate(
  gpu: Gpu,
  calls: readonly KernelCall[],
  how: { warmup: number; samples: number },
): Promise<{ ms: number; samples: number[] }> {
  const r = await timeCalls(gpu, calls, how);
  return { ms: r.medianMs, samples: r.samplesMs };
}

/** One timed run of `calls` (no warm-up: the caller's checks compiled and ran them), in ms. */
export async function timeOnce(gpu: Gpu, calls: readonly KernelCall[]): Promise<number> {
  return (await timeCandidate(gpu, calls, { warmup: 0, samples: 1 })).ms;
}

/**
 * A candidate's screen against `best`, the best screen so far: one run, and where that run is over
 * SCREEN_FACTOR of `best` but within SECOND_LOOK_FACTOR, a second, the faster of the two standing.
 * One run can land in a stall of the machine (this project's VM has doubled a run's time for a
 * moment: a screen threw out conv1's implicit path at 26.7 ms against 14.0, and the plan ran the
 * slower path), and a candidate screened out is gone for the whole tuning. A candidate far past
 * the best is slow, not unlucky: it gets no second run (on SwiftShader a run can take a second).
 */
export async function screenWithSecondLook(
  run: () => Promise<number>,
  best: number,
): Promise<number> {
  const first = await run();
  if (first <= SCREEN_FACTOR * best || first > SECOND_LOOK_FACTOR * best) return first;
  return Math.min(first, await run());
}

/**
 * A first look at the default: one warm-up and one timed run (the screen the others are held to,
 * and its first sample), and how many samples each finalist's median takes, by its length.
 */
export async function screenDefault(
  gpu: Gpu,
  calls: readonly KernelCall[],
): Promise<{ screen: number; samples: number }> {
  const screen = (await timeCandidate(gpu, calls, { warmup: 1, samples: 1 })).ms;
  return { screen, samples: screen < LONG_MS ? SAMPLES : LONG_SAMPLES };
}

/** A candidate of the final round: its calls and its screen (its first sample). */
export interface Finalist {
  calls: readonly KernelCall[];
  screen: number;
}

/**
 * The final round: each candidate's screen and `samples - 1` more runs, one run of each candidate
 * per round, in turns; each candidate's median, in the order given. In turns, a machine whose
 * speed drifts while they are timed (this project's VM moved by 1.5x within minutes) slows each
 * candidate alike; timed one after the other, a candidate timed in a slow minute can lose to a
 * slower one (fc1's input gradient had kept a shape that, timed beside the default later, ran 10%
 * slower). The screens count as samples, so the round costs no more runs than timing each
 * candidate apart did (on SwiftShader a run can take half a second).
 */
export async function timeInTurns(
  gpu: Gpu,
  candidates: readonly Finalist[],
  samples: number,
): Promise<number[]> {
  return mediansInTurns(
    candidates.map((c) => c.screen),
    samples - 1,
    async (i) => timeOnce(gpu, candidates[i]?.calls ?? []),
  );
}

/**
 * `rounds` rounds of `run(0)`, `run(1)`, ... one per candidate, after each candidate's `first`
 * sample; the median of each one's samples.
 */
export async function mediansInTurns(
  first: readonly number[],
  rounds: number,
  run: (candidate: number) => Promise<number>,
): Promise<number[]> {
  const times = first.map((ms) => [ms]);
  for (let round = 0; round < rounds; round++)
    for (const [i, mine] of times.entries()) mine.push(await run(i));
  return times.map(median);
}
