/**
 * The autotuner: picks how each matrix product of a plan runs, and which paths each convolution
 * takes (./tuneConvForward.ts for its forward and weight gradient, ./tuneConv.ts for its input
 * gradient; first), by timing them on the device the plan will run on. compilePlan (through
 * ./tunePlan.ts) traces the step once with a recording chooser, hands what it recorded here, and
 * traces again with the tables this returns (once more in between when a path changed).
 *
 * Per product (largest first, within a time budget; products under MIN_FLOPS keep the default):
 * 1. Candidates: the variants the device can run (registerTile in several workgroup shapes, with
 *    and without quadK, workgroupTile on a GPU, subgroupTile in several widths when the device
 *    has subgroups; naive never wins and is not timed), deduplicated by the kernel they
 *    dispatch; first each variant in its default shape, then the other shapes of the variants
 *    within STAGE_FACTOR of the best. A plan given a fixed matmulVariant only varies that
 *    variant's shape.
 * 2. Each must agree with the CPU twin on a small case that reaches the same kernel (same entry
 *    point and constants), then with the default's output on the product's own shape
 *    (./tuneChecks.ts).
 * 3. Timing: one sample screens out candidates over 1.5x the best so far (a second sample first
 *    for one within 3x: screenWithSecondLook); the FINALISTS fastest screens get the median of
 *    SAMPLES, and must beat the best by MARGIN to replace it.
 * Timing runs on fresh random tensors of the product's sizes and offsets, never on the plan's
 * (which do not exist yet), so tuning changes no parameter.
 */
import { largestBinding, readFloat32 } from '../gpu/buffers';
import type { Gpu } from '../gpu/device';
import { platformStore } from '../gpu/device';
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import {
  choiceName,
  conv2dIm2colShader,
  conv2dImplicitShader,
  conv2dImplicitSubgroupShader,
  matmul,
  matmulFlops,
  matmulShader,
  matmulSubgroupShader,
  type MatmulArgs,
  type DefaultPolicy,
  type MatmulChoice,
} from '../kernels/index';
import { agreesWithTwin, differsFromDefault, freshTensors } from './tuneChecks';
import {
  NO_PATHS,
  TunedChooser,
  choosesDefaults,
  productKey,
  type ChosenPaths,
  type ConvShape,
} from './tuneChoosers';
import { chooseInputGradPaths } from './tuneConv';
import { chooseConvPaths } from './tuneConvForward';
import type { PathContext } from './tuneRace';
import {
  MARGIN,
  SCREEN_FACTOR,
  screenDefault,
  screenWithSecondLook,
  timeInTurns,
  timeOnce,
} from './tuneTiming';
import {
  replayedEntry,
  tuningBudgetMs,
  type TuneOptions,
  type TunedProduct,
  type TuningReport,
} from './tuneReport';
import {
  TUNE_CACHE_NAME,
  deviceKey,
  loadChoices,
  parseChoice,
  saveChoices,
  type StoredChoice,
} from './tuneCache';

export { MARGIN, SCREEN_FACTOR } from './tuneTiming';
export { TUNE_MODES, tuningBudgetMs, tuningLines } from './tuneReport';
export type { TuneMode, TuneOptions, TunedProduct, TuningReport } from './tuneReport';
export { ProductRecorder, TunedChooser, productKey } from './tuneChoosers';

/** Products below this many flops keep the default: timing them costs more than it can win. */
export const MIN_FLOPS = 2 ** 22;
/** Second round: the shapes of variants whose first round came within this of the best. */
const STAGE_FACTOR = 1.25;
/** registerTile's workgroup shapes [wgCols, wgRows] the tuner tries (tested in matmul.test.ts). */
export const REGISTER_SHAPES: readonly (readonly [number, number])[] = [
  [8, 8],
  [16, 4],
  [4, 16],
  [8, 4],
  [4, 8],
  [16, 8],
  [8, 16],
];
const SUBGROUP_WIDTHS = [8, 16, 32];

/** What the plan's compiler knows about the products and the default. */
export interface TuneRequest {
  products: ReadonlyMap<string, MatmulArgs<GpuTensor>>;
  /** What runs where nothing is timed, and what each race times first. */
  defaults: DefaultPolicy;
  /** Only the default's variant's shapes are tried (the plan was given a matmulVariant). */
  fixedVariant: boolean;
  /** Convolutions whose input gradient was asked about (by inputGradKey), for the path race. */
  convs?: ReadonlyMap<string, ConvShape>;
  /**
   * Convolutions whose forward and weight gradient could take either path (by convPathKey), for
   * their race.
   */
  eitherPathConvs?: ReadonlyMap<string, ConvShape>;
  /** The plan's largest binding (PlanOptions.maxBindingBytes); default the device's. */
  maxBindingBytes?: number;
  /** The products again once paths are chosen: the im2col paths add products. */
  retrace?: (paths: ChosenPaths) => ReadonlyMap<string, MatmulArgs<GpuTensor>>;
}

/** Tunes the products (see the header) and returns the chooser for the plan and the report. */
export async function tuneProducts(
  gpu: Gpu,
  request: TuneRequest,
  options: TuneOptions,
): Promise<{ chooser: TunedChooser; report: TuningReport }> {
  const started = performance.now();
  const store = options.store ?? platformStore;
  const device = deviceKey(
    gpu.adapter,
    [
      matmulShader.code,
      matmulSubgroupShader.code,
      conv2dImplicitShader.code,
      conv2dImplicitSubgroupShader.code,
      conv2dIm2colShader.code,
    ],
    gpu.dawnPolling,
  );
  // A host's device without adapter information could be any GPU: its choices are not kept.
  const known = gpu.adapter.kind !== 'unknown';
  const loaded = known
    ? await loadChoices(store, device)
    : { choices: new Map<string, StoredChoice>(), readOnlyBecause: 'the adapter is unknown' };
  const table = new Map<string, MatmulChoice>();
  const fresh = new Map<string, StoredChoice>();
  const budget = tuningBudgetMs(options);
  const minFlops = options.minFlops ?? MIN_FLOPS;
  const earlier = new Map((options.replay ?? []).map((p) => [p.key, p]));
  // Paths first: a convolution that takes an im2col path adds products to the plan.
  const { paths, entries: products } = request.fixedVariant
    ? { paths: NO_PATHS, entries: [] }
    : await choosePathsOf(request, {
        gpu,
        maxBindingBytes: request.maxBindingBytes ?? largestBinding(gpu),
        mode: options.mode,
        stored: loaded.choices,
        fresh,
        earlier,
        minFlops,
        overBudget: () => elapsed(started) > budget,
        ...(options.log ? { log: options.log } : {}),
      });
  const unchanged = choosesDefaults(paths, request.defaults);
  const chosen = unchanged || !request.retrace ? request.products : request.retrace(paths);
  const ordered = [...chosen].sort(([, a], [, b]) => matmulFlops(b) - matmulFlops(a));
  // Products are numbered among themselves: the path races number their own lines.
  const pathEntries = products.length;
  for (const [key, args] of ordered) {
    const flops = matmulFlops(args);
    const base = { key, flops };
    // A fixed variant's winners are stored apart: they must not stand in for the open race's.
    const storeKey = request.fixedVariant ? `${request.defaults.variant} only; ${key}` : key;
    const again = earlier.get(key);
    const replayed = again && usableChoice(gpu, args, again.choice, request);
    if (again && replayed) {
      table.set(key, replayed.choice);
      products.push(replayedEntry(again, replayed.label));
      continue;
    }
    const stored = options.mode === 'cached' ? loaded.choices.get(storeKey) : undefined;
    const cached = stored && usableChoice(gpu, args, stored.choice, request);
    if (stored && cached) {
      table.set(key, cached.choice);
      products.push({ ...base, label: cached.label, source: 'cached', ...stored });
      continue;
    }
    const source = flops < minFlops ? 'small' : elapsed(started) > budget ? 'budget' : undefined;
    if (source) {
      products.push({ ...base, ...labelled(args, request.defaults.product), source });
      continue;
    }
    options.log?.(
      `tuning ${products.length - pathEntries + 1}/${ordered.length}: ${matmul(args, request.defaults).label}`,
    );
    const result = await tuneProduct(gpu, args, request);
    table.set(key, result.choice);
    fresh.set(storeKey, {
      choice: choiceName(result.choice),
      ms: result.ms,
      defaultMs: result.defaultMs,
    });
    products.push({
      ...base,
      ...labelled(args, result.choice),
      source: 'timed',
      ...result.summary,
    });
  }
  let where = known ? store.where(TUNE_CACHE_NAME) : 'not kept: the adapter is unknown';
  if (loaded.readOnlyBecause) where = `not kept: ${loaded.readOnlyBecause}`;
  else if (fresh.size > 0)
    // A cache that cannot be written (a read-only home) costs the next run a re-tune, not this one.
    where = await saveChoices(store, device, fresh).then(
      () => where,
      (e: unknown) => `not kept: ${e instanceof Error ? e.message : String(e)}`,
    );
  return {
    chooser: new TunedChooser(request.defaults, table, paths),
    report: {
      mode: options.mode,
      defaults: request.defaults.name,
      stored: where,
      seconds: elapsed(started) / 1000,
      products,
    },
  };
}

/**
 * A stored or replayed choice this plan may use, labelled: one of this variant's shapes when the
 * variant is fixed, one the device can run (subgroupTile needs `subgroups`: a checkpoint may come
 * from another machine, and a device opened without the feature shares its adapter's cache), and
 * one that can dispatch this product (an edited cache may hold a grid too large).
 */
function usableChoice(gpu: Gpu, args: MatmulArgs<GpuTensor>, name: string, request: TuneRequest) {
  const choice = parseChoice(name);
  if (!choice || (request.fixedVariant && choice.variant !== request.defaults.variant))
    return undefined;
  if (choice.variant === 'subgroupTile' && !gpu.hasSubgroups) return undefined;
  try {
    return { choice, label: matmul(args, choice).label };
  } catch {
    return undefined;
  }
}

/** The forward and weight-gradient paths, then the input-gradient paths, of the request's convs. */
async function choosePathsOf(
  request: TuneRequest,
  ctx: PathContext,
): Promise<{ paths: ChosenPaths; entries: TunedProduct[] }> {
  const none = new Map<string, ConvShape>();
  const conv = await chooseConvPaths(request.eitherPathConvs ?? none, ctx, request.defaults);
  const dX = await chooseInputGradPaths(request.convs ?? none, ctx, request.defaults);
  return {
    paths: { conv: conv.paths, inputGrad: dX.paths },
    entries: [...conv.entries, ...dX.entries],
  };
}

function elapsed(since: number): number {
  return performance.now() - since;
}

function labelled(args: MatmulArgs<GpuTensor>, choice: MatmulChoice) {
  const call = matmul(args, choice);
  return { label: call.label, choice: choiceName(dispatched(choice, call)) };
}

interface ProductResult {
  choice: MatmulChoice;
  ms: number;
  defaultMs: number;
  summary: Pick<TunedProduct, 'ms' | 'defaultMs' | 'candidates'>;
}

/**
 * Checks and times the candidates of one product on fresh tensors. Each candidate of the first
 * round (each variant in its default shape) and then of the second (the other shapes of the
 * variants within STAGE_FACTOR of the best) gets one screening run against the default's; the
 * FINALISTS fastest screens within SCREEN_FACTOR of the best then get their medians in the final
 * round, in turns with the default (timeInTurns).
 */
async function tuneProduct(
  gpu: Gpu,
  args: MatmulArgs<GpuTensor>,
  request: TuneRequest,
): Promise<ProductResult> {
  const fresh = freshTensors(gpu, args);
  try {
    const live = { ...args, ...fresh.views };
    const candidates = distinctCandidates(gpu, live, request);
    const [first] = candidates;
    if (!first) throw new Error(`tuner: no candidate for ${productKey(args)}`);
    const { screen: defaultScreen, samples } = await screenDefault(gpu, [first.call]);
    const race: Race = {
      defaultScreen,
      live,
      reference: await readFloat32(gpu, live.out),
      screened: [],
      rows: [],
      variantMs: new Map([[familyOf(first.choice), defaultScreen]]),
    };
    const others = candidates.slice(1);
    for (const c of others.filter((c) => !c.shaped)) await screenCandidate(gpu, c, race);
    for (const c of others.filter((c) => c.shaped)) {
      const variantMs = race.variantMs.get(familyOf(c.choice)) ?? Infinity;
      if (variantMs <= STAGE_FACTOR * fastestSoFar(race)) await screenCandidate(gpu, c, race);
    }
    const ranked = race.screened
      .filter((x) => x.screen <= SCREEN_FACTOR * fastestSoFar(race))
      .sort((a, b) => a.screen - b.screen);
    const finalists = ranked.slice(0, FINALISTS);
    for (const { candidate, screen } of ranked.slice(FINALISTS))
      race.rows.push({
        choice: candidate.name,
        ms: screen,
        rejected: `not among the ${FINALISTS} fastest screens`,
      });
    // The default and the finalists in turns (timeInTurns), the default first.
    const [defaultMs = defaultScreen, ...finalMs] = await timeInTurns(
      gpu,
      [
        { calls: [first.call], screen: defaultScreen },
        ...finalists.map((x) => ({ calls: [x.candidate.call], screen: x.screen })),
      ],
      samples,
    );
    race.rows.unshift({ choice: first.name, ms: defaultMs });
    let best = { choice: first.choice, ms: defaultMs };
    for (const [i, { candidate }] of finalists.entries()) {
      const ms = finalMs[i] ?? Infinity;
      race.rows.push({ choice: candidate.name, ms });
      if (ms < (1 - MARGIN) * best.ms) best = { choice: candidate.choice, ms };
    }
    return { ...best, defaultMs, summary: { ms: best.ms, defaultMs, candidates: race.rows } };
  } finally {
    fresh.destroy();
  }
}

/** A product's race so far: the default's output, each candidate's screen, the report's rows. */
interface Race {
  /** The default's screen (its median comes from the final round). */
  defaultScreen: number;
  live: MatmulArgs<GpuTensor>;
  reference: Float32Array;
  /** Candidates that passed their checks, with their screening run. */
  screened: { candidate: Candidate; screen: number }[];
  rows: NonNullable<TunedProduct['candidates']>;
  /** Each kernel family's screen in its default shape. */
  variantMs: Map<string, number>;
}

/** What the second round's shapes are gated on: the variant, and registerTile's quadK apart. */
function familyOf(choice: MatmulChoice): string {
  return choice.quadK === true ? `${choice.variant} quadK` : choice.variant;
}

/** The best screen so far: the default's or one that passed the checks. */
function fastestSoFar(race: Race): number {
  return Math.min(race.defaultScreen, ...race.screened.map((x) => x.screen));
}

/**
 * One candidate's checks and screen: the CPU twin's small case, one timed run, then the output
 * that run left against the default's. Screens over SCREEN_FACTOR of the best so far are out.
 */
async function screenCandidate(gpu: Gpu, c: Candidate, race: Race): Promise<void> {
  const rejected = await agreesWithTwin(gpu, race.live, c);
  if (rejected) {
    race.rows.push({ choice: c.name, rejected });
    return;
  }
  let screen: number;
  try {
    // No warm-up: the twin check already compiled and ran this pipeline.
    screen = await screenWithSecondLook(() => timeOnce(gpu, [c.call]), fastestSoFar(race));
  } catch (e) {
    race.rows.push({ choice: c.name, rejected: `does not run: ${(e as Error).message}` });
    return;
  }
  if (!c.shaped) race.variantMs.set(familyOf(c.choice), screen);
  if (screen > SCREEN_FACTOR * fastestSoFar(race)) {
    race.rows.push({ choice: c.name, ms: screen, rejected: `over ${SCREEN_FACTOR}x the best` });
    return;
  }
  const differs = await differsFromDefault(gpu, race.live, race.reference);
  if (differs) {
    race.rows.push({ choice: c.name, rejected: differs });
    return;
  }
  race.screened.push({ candidate: c, screen });
}

interface Candidate {
  name: string;
  choice: MatmulChoice;
  call: KernelCall;
  /** Sizes given: a second-round shape of its variant. */
  shaped: boolean;
}

/** The default first, then every other choice that dispatches a kernel not yet in the list. */
function distinctCandidates(
  gpu: Gpu,
  args: MatmulArgs<GpuTensor>,
  request: TuneRequest,
): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const choice of candidateChoices(gpu, request)) {
    let call: KernelCall;
    try {
      call = matmul(args, choice);
    } catch {
      continue; // a grid past the device's limits: not a candidate for this shape
    }
    const id = kernelIdentity(call);
    if (seen.has(id)) continue;
    seen.add(id);
    const shaped = choice.wgCols !== undefined || choice.wgSize !== undefined;
    const ran = dispatched(choice, call);
    out.push({ name: choiceName(ran), choice: ran, call, shaped });
  }
  return out;
}

function candidateChoices(gpu: Gpu, request: TuneRequest): MatmulChoice[] {
  const limits = gpu.limits;
  const fits = (x: number, y: number): boolean =>
    x * y <= limits.maxComputeInvocationsPerWorkgroup &&
    x <= limits.maxComputeWorkgroupSizeX &&
    y <= limits.maxComputeWorkgroupSizeY;
  const shaped = (variant: 'naive' | 'registerTile', quadK = false): MatmulChoice[] =>
    REGISTER_SHAPES.filter(([c, r]) => fits(c, r)).map(([wgCols, wgRows]) => ({
      variant,
      wgCols,
      wgRows,
      ...(quadK ? { quadK } : {}),
    }));
  const subgroup = SUBGROUP_WIDTHS.filter((w) => fits(w, 1)).map((wgSize) => ({
    variant: 'subgroupTile' as const,
    wgSize,
  }));
  // First round: each variant in its default shape (the plan's default first); then the shapes.
  const all: MatmulChoice[] = [
    request.defaults.product,
    { variant: 'registerTile' },
    { variant: 'registerTile', quadK: true },
    ...(racesWorkgroupTile(gpu) ? [{ variant: 'workgroupTile' as const }] : []),
    ...(gpu.hasSubgroups ? [{ variant: 'subgroupTile' as const }] : []),
    ...shaped('registerTile'),
    ...shaped('registerTile', true),
    ...(gpu.hasSubgroups ? subgroup : []),
  ];
  if (!request.fixedVariant) return all;
  const fixed = request.defaults.variant;
  if (fixed === 'naive') return [{ variant: 'naive' }, ...shaped('naive')];
  return all.filter((c) => c.variant === fixed);
}

/**
 * Whether workgroupTile enters the race. Not on a CPU "GPU": there its barriers cost 2-8x the
 * other variants on every product of the reference CNN (docs/measurements.md), so its screen never
 * passed, yet its check and screen took 1.6-2 s of each product's tuning on SwiftShader (slow
 * to compile, slow to run). A plan whose default or fixed variant is workgroupTile still times it.
 */
function racesWorkgroupTile(gpu: Gpu): boolean {
  return !gpu.adapter.isSoftware;
}

/**
 * The choice as it runs: a subgroupTile that fell back to registerTile is named registerTile, and
 * a quadK that the product does not allow (K = 25, A·Bᵀ) is named without it, so that its time
 * gates the second round of the form it ran.
 */
function dispatched(choice: MatmulChoice, call: KernelCall): MatmulChoice {
  if (choice.variant === 'subgroupTile' && call.entryPoint !== 'matmulSubgroupTile')
    return { variant: 'registerTile' };
  if (choice.quadK === true && call.entryPoint !== 'matmulRegisterTileQuadK')
    return { ...choice, quadK: false };
  return choice;
}

/** Entry point, constants and grid: two choices with the same identity are the same dispatch. */
function kernelIdentity(call: KernelCall): string {
  return `${call.shader.name}.${call.entryPoint} ${JSON.stringify(call.constants ?? {})} ${call.workgroups.join(',')}`;
}

/**
 * Screened candidates that get the full median: on SwiftShader every shape of a product often
 * screens within SCREEN_FACTOR, and timing each in full took most of a product's tuning.
 */
export const FINALISTS = 3;
