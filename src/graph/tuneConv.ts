/**
 * The autotuner's race between a convolution's input-gradient paths (src/kernels/conv2dPaths.ts):
 * conv2dImplicit's product with its subgroupTile or its registerTile kernel, and matmul into
 * dCols + col2im. tuneProducts (./tuner.ts) runs it before the products, since the im2col path
 * adds a product to the plan. Why a race: on lavapipe the subgroupTile kernel is as fast or up
 * to 2x faster than matmul + col2im at every channel count measured, and 1.4-2.5x faster than
 * the register tile; on SwiftShader, whose 4-lane subgroups cannot share, the register tile runs
 * 2-3.6x faster than the subgroupTile kernel (docs/measurements.md). A device without the
 * subgroups feature races the register tile and matmul + col2im.
 *
 * Per convolution: every path must agree with the CPU twin (conv2dBackwardCpu, float64) on the
 * same shape at batch 2, then with the default on the convolution's own shape; each is timed on
 * fresh random tensors, the default first. Another path gets one screening run first, and the
 * full median only within SCREEN_FACTOR of the best so far (on SwiftShader a run of the slowest
 * path takes over a second); it replaces the fastest so far only when MARGIN faster.
 */
import { dotAtol } from '../base/compare';
import { randomFloats } from '../base/random';
import { createTensor, largestBinding, readFloat32, writeTensor } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import { runCalls, type KernelCall } from '../gpu/dispatch';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import {
  conv2dBackwardCpu,
  conv2dColsShape,
  conv2dInputGrad,
  implicitInputGradFits,
  implicitProductOf,
  inputGradPathsFor,
  paddedGradientShape,
  weightCkoShape,
  type Conv2dGeometry,
  type DefaultPolicy,
  type InputGradPath,
} from '../kernels/index';
import { median } from '../gpu/timing';
import type { StoredChoice } from './tuneCache';
import { closenessProblem } from './tuneChecks';
import type { ConvShape } from './tuneChoosers';
import { MARGIN, SCREEN_FACTOR, timeCandidate, timeDefault } from './tuneTiming';
import { replayedEntry, type TuneMode, type TunedProduct } from './tuneReport';

/** Floating-point operations of dX: 2 per tap and output channel of every input position. */
export function inputGradFlops({ g, O }: ConvShape): number {
  return 2 * g.N * g.OH * g.OW * O * g.C * g.KH * g.KW;
}

export interface PathResult {
  path: InputGradPath;
  ms: number;
  defaultMs: number;
  candidates: { choice: string; ms?: number; rejected?: string }[];
}

/**
 * Times every path of `conv` (see the header), the default first; a path that fails a check is
 * not chosen, and none is when the default fails its own (nothing to compare the others with).
 */
export async function tuneInputGrad(
  gpu: Gpu,
  conv: ConvShape,
  defaults: DefaultPolicy,
  maxBindingBytes = largestBinding(gpu),
): Promise<PathResult> {
  const first = defaults.inputGrad;
  const order = [first, ...inputGradPathsFor(gpu.hasSubgroups).filter((p) => p !== first)];
  const rows: PathResult['candidates'] = [];
  for (const path of order) {
    const problem =
      tooLarge(conv, path, maxBindingBytes) ?? (await twinProblem(gpu, conv, path, defaults));
    if (problem) rows.push({ choice: path, rejected: problem });
  }
  const rejected = (path: InputGradPath) => rows.some((r) => r.choice === path);
  const t = pathTensors(gpu, conv, !rejected('im2col'));
  try {
    const defaultTiming = await timeDefault(gpu, pathCalls(t, conv, first, defaults));
    const defaultMs = defaultTiming.ms;
    if (rejected(first)) return { path: first, ms: defaultMs, defaultMs, candidates: rows };
    const reference = await readFloat32(gpu, t.dX);
    rows.push({ choice: first, ms: defaultMs });
    let best = { path: first, ms: defaultMs };
    for (const other of order.slice(1).filter((p) => !rejected(p))) {
      const calls = pathCalls(t, conv, other, defaults);
      // No warm-up: the twin check compiled and ran these pipelines.
      const screen = (await timeCandidate(gpu, calls, { warmup: 0, samples: 1 })).ms;
      const differs = differsFrom(await readFloat32(gpu, t.dX), reference, conv);
      if (differs) {
        rows.push({ choice: other, rejected: differs });
        continue;
      }
      if (screen > SCREEN_FACTOR * best.ms) {
        rows.push({ choice: other, ms: screen, rejected: `over ${SCREEN_FACTOR}x the best` });
        continue;
      }
      const rest = await timeCandidate(gpu, calls, {
        warmup: 0,
        samples: defaultTiming.samples - 1,
      });
      const ms = median([screen, ...rest.samples]);
      rows.push({ choice: other, ms });
      if (ms < (1 - MARGIN) * best.ms) best = { path: other, ms };
    }
    return { ...best, defaultMs, candidates: rows };
  } finally {
    t.destroy();
  }
}

/** Terms per dX element: every output channel at every tap. */
function termsOf({ g, O }: ConvShape): number {
  return O * g.KH * g.KW;
}

function differsFrom(got: Float32Array, want: Float32Array, conv: ConvShape): string | undefined {
  // Each path is within dotAtol of the exact sums (inputs in [-1, 1]): within twice of each other.
  return closenessProblem(got, want, 2 * dotAtol(termsOf(conv)), 'the default');
}

/** Values of the inputs: uniform in [-1, 1], so dotAtol bounds float32 rounding. */
const DATA_SEED = 20261205;

/**
 * Why `path` cannot run on `conv`'s samples at once, or undefined. The samples per pass were
 * chosen for the default path (conv2dBatchChunk); matmul + col2im's dCols (f32) may not fit
 * where the default's scratch does, for instance beside an f16 cols (mixed precision). A plan
 * that takes that path chunks the batch for it; the race does not time it at this size.
 */
function tooLarge({ g }: ConvShape, path: InputGradPath, most: number): string | undefined {
  if (implicitProductOf(path)) return undefined;
  const bytes = elementCount(conv2dColsShape(g)) * 4;
  if (bytes <= most) return undefined;
  return `its dCols for ${g.N} samples (${bytes} bytes) would pass the largest binding (${most})`;
}

/**
 * Fresh random tensors for every path of `conv`; x and dWeight are not read by dX's calls. dCols
 * only `withDCols` (else one float: only matmul + col2im reads it).
 */
function pathTensors(gpu: Gpu, { g, O }: ConvShape, withDCols = true) {
  const made: GpuTensor[] = [];
  const make = (shape: readonly number[], seed: number): GpuTensor => {
    const t = createTensor(gpu, shape, { label: 'tuner' });
    writeTensor(gpu, t, randomFloats(elementCount(t.shape), seed));
    made.push(t);
    return t;
  };
  return {
    weight: make([O, g.C, g.KH, g.KW], DATA_SEED),
    dOut: make([g.N, O, g.OH, g.OW], DATA_SEED + 1),
    dX: make([g.N, g.C, g.H, g.W], DATA_SEED + 2),
    dCols: make(withDCols ? conv2dColsShape(g) : [1], DATA_SEED + 3),
    weightCko: make(weightCkoShape(g, O), DATA_SEED + 4),
    dOutPadded: make(paddedGradientShape(g, O), DATA_SEED + 5),
    destroy: () => made.forEach((t) => t.buffer.destroy()),
  };
}

type PathTensors = ReturnType<typeof pathTensors>;

/** dX's calls by `path`, the im2col path's product with the plan's default choice. */
function pathCalls(
  t: PathTensors,
  { g, O }: ConvShape,
  path: InputGradPath,
  defaults: DefaultPolicy,
): KernelCall[] {
  const base = {
    x: t.dX,
    weight: t.weight,
    dOut: t.dOut,
    dWeight: t.weight,
    cols: t.dCols,
    dX: t.dX,
    geometry: g,
    O,
  };
  const product = implicitProductOf(path);
  const scratch = product
    ? { implicit: { weightCko: t.weightCko, dOutPadded: t.dOutPadded, product } }
    : { dCols: t.dCols };
  return conv2dInputGrad({ ...base, ...scratch }, defaults);
}

/** `path` against the CPU twin at batch 2; undefined when it agrees. */
async function twinProblem(
  gpu: Gpu,
  conv: ConvShape,
  path: InputGradPath,
  defaults: DefaultPolicy,
): Promise<string | undefined> {
  const small = { g: { ...conv.g, N: 2 }, O: conv.O };
  const t = pathTensors(gpu, small);
  try {
    await runCalls(gpu, pathCalls(t, small, path, defaults));
    const got = await readFloat32(gpu, t.dX);
    const want = new Float32Array(got.length);
    const g: Conv2dGeometry = small.g;
    conv2dBackwardCpu({
      x: new Float32Array(got.length),
      weight: await readFloat32(gpu, t.weight),
      dOut: await readFloat32(gpu, t.dOut),
      dX: want,
      dWeight: new Float32Array(conv.O * g.C * g.KH * g.KW),
      geometry: g,
      O: conv.O,
    });
    return closenessProblem(got, want, dotAtol(termsOf(small)), 'the CPU twin');
  } catch (e) {
    return `does not run: ${(e as Error).message}`;
  } finally {
    t.destroy();
  }
}

const PATH_WORDS: Record<InputGradPath, string> = {
  implicit: 'the implicit product',
  implicitRegisterTile: 'the implicit product (register tile)',
  im2col: 'matmul + col2im',
};

/** What choosePaths needs of tuneProducts: the device, the default, the cache, the budget. */
export interface PathContext {
  gpu: Gpu;
  defaults: DefaultPolicy;
  /** The plan's largest binding: a path whose scratch passes it is not raced (tooLarge). */
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

/**
 * A path for each convolution whose dX can take more than one (largest first): the cached one, else
 * timed (within the budget), else the default. Convolutions with one path get no entry.
 */
export async function choosePaths(
  convs: ReadonlyMap<string, ConvShape>,
  ctx: PathContext,
): Promise<{ paths: Map<string, InputGradPath>; entries: TunedProduct[] }> {
  const paths = new Map<string, InputGradPath>();
  const entries: TunedProduct[] = [];
  const racing = [...convs]
    .filter(([, c]) => implicitInputGradFits(c.g, c.O))
    .sort(([, a], [, b]) => inputGradFlops(b) - inputGradFlops(a));
  for (const [key, conv] of racing) {
    const storeKey = `${key} batch ${conv.g.N}`;
    const base = { key: storeKey, flops: inputGradFlops(conv) };
    const label = (path: InputGradPath): string =>
      `conv2d input gradient by ${PATH_WORDS[path]} (${key}, batch ${conv.g.N})`;
    const takes = inputGradPathsFor(ctx.gpu.hasSubgroups);
    const again = ctx.earlier.get(storeKey);
    const replayed = takes.find((p) => p === again?.choice);
    if (again && replayed) {
      paths.set(key, replayed);
      entries.push(replayedEntry(again, label(replayed)));
      continue;
    }
    const stored = ctx.mode === 'cached' ? ctx.stored.get(storeKey) : undefined;
    const cached = takes.find((p) => p === stored?.choice);
    if (stored && cached) {
      paths.set(key, cached);
      entries.push({ ...base, label: label(cached), source: 'cached', ...stored });
      continue;
    }
    const fallback = ctx.defaults.inputGrad;
    const source = base.flops < ctx.minFlops ? 'small' : ctx.overBudget() ? 'budget' : undefined;
    if (source) {
      entries.push({ ...base, label: label(fallback), choice: fallback, source });
      continue;
    }
    ctx.log?.(`tuning ${entries.length + 1}/${racing.length} paths: ${label(fallback)}`);
    const result = await tuneInputGrad(ctx.gpu, conv, ctx.defaults, ctx.maxBindingBytes);
    paths.set(key, result.path);
    ctx.fresh.set(storeKey, { choice: result.path, ms: result.ms, defaultMs: result.defaultMs });
    entries.push({
      ...base,
      label: label(result.path),
      choice: result.path,
      source: 'timed',
      ms: result.ms,
      defaultMs: result.defaultMs,
      candidates: result.candidates,
    });
  }
  return { paths, entries };
}
