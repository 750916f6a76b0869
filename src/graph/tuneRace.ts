/**
 * How the autotuner races a convolution's paths (./tuneConv.ts for its input gradient,
 * ./tuneConvForward.ts for its forward and weight gradient), and how it picks a path for each
 * convolution of a plan: the cached one, else timed within the budget, else the default.
 *
 * A race: every path must agree with the CPU twin on the same shape at batch 2 (the race's
 * `problem`), then with the default on the convolution's own shape; each is timed on fresh random
 * tensors, the default first. Every path gets one screening run (two where the first is just out:
 * screenWithSecondLook), and a median only within SCREEN_FACTOR of the best screen so far (on
 * SwiftShader a run of the slowest path takes over a second): those medians come from a final
 * round in turns with the default (timeInTurns). A path replaces the fastest so far only when
 * MARGIN faster.
 */
import { randomFloats } from '../base/random';
import { createTensor, writeTensor } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import { runCalls, type KernelCall } from '../gpu/dispatch';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import type { ScratchDtype } from '../kernels/index';
import type { StoredChoice } from './tuneCache';
import { hostData } from './tuneChecks';
import type { ConvShape } from './tuneChoosers';
import {
  MARGIN,
  SCREEN_FACTOR,
  screenDefault,
  screenWithSecondLook,
  timeInTurns,
  timeOnce,
} from './tuneTiming';
import { replayedEntry, type TuneMode, type TunedProduct } from './tuneReport';

/**
 * A race's outcome: the path, its median and the default's (absent when no path could be timed),
 * and every candidate's row.
 */
export interface PathResult<P extends string> {
  path: P;
  ms?: number;
  defaultMs?: number;
  candidates: { choice: string; ms?: number; rejected?: string }[];
  /** Samples timed, where fewer than the convolution's batch (its scratch would not fit). */
  timedSamples?: number;
}

/** One convolution's race, on tensors its caller made (and destroys); `Out`: what it compares. */
export interface Race<P extends string, Out> {
  /** The candidates, the default first. */
  order: readonly P[];
  /** Why `path` may not be timed (its scratch too large, disagreeing with the CPU twin). */
  problem(path: P): Promise<string | undefined>;
  /** The calls that compute the race's outputs by `path`. */
  calls(path: P): KernelCall[];
  /** The outputs after a run, compared between paths. */
  outputs(): Promise<Out>;
  /** Why a path's outputs `got` are not the default's `want`, or undefined. */
  differs(got: Out, want: Out): string | undefined;
}

/**
 * A race's tensors, destroyed together: each filled with values uniform in [-1, 1] (so dotAtol
 * bounds float32 rounding) from its own seed, `firstSeed` and on in the order they are made; an
 * f16 tensor holds those values rounded to f16.
 */
export function raceTensors(gpu: Gpu, firstSeed: number) {
  const made: GpuTensor[] = [];
  return {
    make: (shape: readonly number[], dtype: ScratchDtype = 'f32'): GpuTensor => {
      const t = createTensor(gpu, shape, { label: 'tuner', dtype });
      const values = randomFloats(elementCount(t.shape), firstSeed + made.length);
      writeTensor(gpu, t, hostData(values, dtype));
      made.push(t);
      return t;
    },
    destroy: () => made.forEach((t) => t.buffer.destroy()),
  };
}

/** The race's small case, checked against the CPU twin: the convolution's shape at batch 2. */
export function smallCaseOf(conv: ConvShape): ConvShape {
  return { ...conv, g: { ...conv.g, N: 2 } };
}

/**
 * Runs a path's `calls` on a small case's `tensors` and returns `compare`'s verdict against the
 * CPU twin (undefined when it agrees), or why the calls do not run; destroys the tensors.
 */
export async function smallCaseProblem(
  gpu: Gpu,
  tensors: { destroy(): void },
  calls: () => KernelCall[],
  compare: () => Promise<string | undefined>,
): Promise<string | undefined> {
  try {
    await runCalls(gpu, calls());
    return await compare();
  } catch (e) {
    return `does not run: ${(e as Error).message}`;
  } finally {
    tensors.destroy();
  }
}

/**
 * Times every path of `race` (see the header), the default first. A path that fails a check is not
 * chosen. Where the default fails its own (a scratch too large to run at all, disagreeing with the
 * twin), the first path that passed stands in for it, as the reference and as the time the others
 * must beat; where none passed, the default is kept untimed (no `ms`).
 */
export async function racePaths<P extends string, Out>(
  gpu: Gpu,
  race: Race<P, Out>,
): Promise<PathResult<P>> {
  const [first] = race.order;
  if (first === undefined) throw new Error('tuner: a race without paths');
  const rows: PathResult<P>['candidates'] = [];
  for (const path of race.order) {
    const problem = await race.problem(path);
    if (problem) rows.push({ choice: path, rejected: problem });
  }
  const [lead, ...others] = race.order.filter((p) => !rows.some((r) => r.choice === p));
  if (lead === undefined) return { path: first, candidates: rows };
  const leadScreen = await screenDefault(gpu, race.calls(lead));
  const reference = await race.outputs();
  const finalists: { path: P; screen: number }[] = [];
  const screenedOut: typeof rows = [];
  for (const other of others) {
    const calls = race.calls(other);
    const bestScreen = Math.min(leadScreen.screen, ...finalists.map((f) => f.screen));
    // No warm-up: the twin check compiled and ran these pipelines.
    const screen = await screenWithSecondLook(() => timeOnce(gpu, calls), bestScreen);
    const differs = race.differs(await race.outputs(), reference);
    if (differs) screenedOut.push({ choice: other, rejected: differs });
    else if (screen > SCREEN_FACTOR * bestScreen)
      screenedOut.push({ choice: other, ms: screen, rejected: `over ${SCREEN_FACTOR}x the best` });
    else finalists.push({ path: other, screen });
  }
  // The lead and the paths still in the race in turns (timeInTurns), the lead first.
  const [leadMs = leadScreen.screen, ...finalMs] = await timeInTurns(
    gpu,
    [{ path: lead, screen: leadScreen.screen }, ...finalists].map(({ path, screen }) => ({
      calls: race.calls(path),
      screen,
    })),
    leadScreen.samples,
  );
  rows.push({ choice: lead, ms: leadMs }, ...screenedOut);
  let best = { path: lead, ms: leadMs };
  for (const [i, { path }] of finalists.entries()) {
    const ms = finalMs[i] ?? Infinity;
    rows.push({ choice: path, ms });
    if (ms < (1 - MARGIN) * best.ms) best = { path, ms };
  }
  return { ...best, defaultMs: leadMs, candidates: rows };
}

/** What choosePaths needs of tuneProducts: the device, the cache, the budget. */
export interface PathContext {
  gpu: Gpu;
  /** The plan's largest binding: a path whose scratch passes it is not raced. */
  maxBindingBytes: number;
  mode: TuneMode;
  /** Choices read from the cache; fresh ones are added to `fresh`. */
  stored: ReadonlyMap<string, StoredChoice>;
  fresh: Map<string, StoredChoice>;
  /** An earlier compile's report, by key: replayed as it is (TuneOptions.replay). */
  earlier: ReadonlyMap<string, TunedProduct>;
  minFlops: number;
  overBudget: () => boolean;
  log?: (line: string) => void;
}

/** One kind of path a convolution races: its words, its paths on this device, and its race. */
export interface PathKind<P extends string> {
  /** "conv2d input gradient by the implicit product (conv dX ..., batch 64)". */
  label(path: P, key: string, conv: ConvShape): string;
  flops(conv: ConvShape): number;
  /** The paths this device can take: a cached or replayed one outside them is timed again. */
  takes: readonly P[];
  /** What runs where nothing is timed. */
  fallback(conv: ConvShape): P;
  race(conv: ConvShape): Promise<PathResult<P>>;
}

/**
 * A path for each of `convs` (largest first): the replayed or cached one, else timed (within the
 * budget), else the default.
 */
export async function choosePaths<P extends string>(
  convs: ReadonlyMap<string, ConvShape>,
  ctx: PathContext,
  kind: PathKind<P>,
): Promise<{ paths: Map<string, P>; entries: TunedProduct[] }> {
  const paths = new Map<string, P>();
  const entries: TunedProduct[] = [];
  const racing = [...convs].sort(([, a], [, b]) => kind.flops(b) - kind.flops(a));
  for (const [key, conv] of racing) {
    const storeKey = `${key} batch ${conv.g.N}`;
    const base = { key: storeKey, flops: kind.flops(conv) };
    const label = (path: P): string => kind.label(path, key, conv);
    const again = ctx.earlier.get(storeKey);
    const replayed = kind.takes.find((p) => p === again?.choice);
    if (again && replayed) {
      paths.set(key, replayed);
      entries.push(replayedEntry(again, label(replayed)));
      continue;
    }
    const stored = ctx.mode === 'cached' ? ctx.stored.get(storeKey) : undefined;
    const cached = kind.takes.find((p) => p === stored?.choice);
    if (stored && cached) {
      paths.set(key, cached);
      entries.push({ ...base, label: label(cached), source: 'cached', ...stored });
      continue;
    }
    const source = base.flops < ctx.minFlops ? 'small' : ctx.overBudget() ? 'budget' : undefined;
    if (source) {
      const fallback = kind.fallback(conv);
      entries.push({ ...base, label: label(fallback), choice: fallback, source });
      continue;
    }
    ctx.log?.(`tuning ${entries.length + 1}/${racing.length} paths: ${label(kind.fallback(conv))}`);
    const { path, ms, defaultMs, candidates, timedSamples } = await kind.race(conv);
    paths.set(key, path);
    const part = timedSamples === undefined ? '' : ` (timed on ${timedSamples} samples)`;
    const times = ms !== undefined && defaultMs !== undefined ? { ms, defaultMs } : undefined;
    // Untimed (no path passed its checks): not kept, so that the next compile tries again.
    if (times) ctx.fresh.set(storeKey, { choice: path, ...times });
    entries.push({
      ...base,
      label: `${label(path)}${part}`,
      choice: path,
      source: 'timed',
      ...times,
      candidates,
    });
  }
  return { paths, entries };
}
