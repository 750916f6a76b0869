/**
 * The autotuner (src/graph/tuner.ts) and its cache (tuneCache.ts): what it times and picks, that
 * the plan runs what it picked, that cached choices are used as stored and give bit-identical
 * training, and that a store it cannot use is left as it is.
 */
import { describe, expect, it } from 'vitest';
import type { StoredText } from '../../src/gpu/platform';
import { readFloat32 } from '../../src/gpu/buffers';
import { choiceName } from '../../src/kernels/matmul';
import { DefaultPolicy, preferredPolicy } from '../../src/kernels/conv2dPaths';
import { createTrainer } from '../../src/models/network';
import { deviceKey, parseChoice, parseTuneFile } from '../../src/graph/tuneCache';
import {
  FINALISTS,
  MARGIN,
  SCREEN_FACTOR,
  tuningBudgetMs,
  tuningLines,
  type TuneOptions,
  type TunedProduct,
  type TuningReport,
} from '../../src/graph/tuner';
import { randomFloats, randomInts } from '../../src/base/random';
import { smallConfig } from '../helpers/configs';
import { onF16Device, plainTestGpu, useTestGpu } from '../helpers/gpu';
import { compilePlan } from '../../src/graph/executor';
import { convPathsFor, tuneConvPath } from '../../src/graph/tuneConvForward';
import { conv2dGeometry } from '../../src/kernels/geometry';
import type { StepPlan } from '../../src/graph/stepPlan';
import { ParameterStore } from '../../src/graph/parameterStore';
import { buildGraph } from '../../src/models/network';
import { forceChoices, memoryStore, setStoredChoice } from '../helpers/tuneStore';
import type { Gpu } from '../../src/gpu/device';

const gpu = useTestGpu();

// Small enough to tune in seconds on a software adapter; every product of it is timed.
const config = smallConfig({ batchSize: 8 });
const tune = (mode: TuneOptions['mode'], store: StoredText): TuneOptions => ({
  mode,
  store,
  minFlops: 0,
  // No budget in the way: how many products get timed must not depend on the machine's load.
  budgetMs: 600_000,
});

/** A report entry for a convolution's path rather than a product. */
function isPath(p: TunedProduct): boolean {
  return isInputGradPath(p) || isConvPath(p);
}

/** A report entry for a convolution's input-gradient path. */
function isInputGradPath(p: TunedProduct): boolean {
  return p.key.startsWith('conv dX');
}

/** A report entry for a convolution's forward and weight-gradient path. */
function isConvPath(p: TunedProduct): boolean {
  return p.key.startsWith('conv forward');
}

/** The plan note of conv2's path (src/kernels/conv2dPaths.ts inputGradPathNote). */
function pathNote(path: string): RegExp {
  if (path === 'im2col') return /^conv2: input gradient by matmul \+ col2im/m;
  const kernel = path === 'implicit' ? 'subgroupTile' : 'registerTile';
  return new RegExp(`^conv2: input gradient by the implicit product \\(${kernel}\\)`, 'm');
}

/** conv2's forward and weight-gradient path in a plan: its note and its dispatches agree. */
function takesPath(plan: StepPlan): 'implicit' | 'im2col' {
  const noted = /^conv2: forward and weight gradient by the implicit product/m.test(
    plan.notes.join('\n'),
  );
  const unfolds = plan.prepared.some((c) =>
    /^conv2dIm2col\.im2col\w*\(\[8, 4, 14, 14\]/.test(c.call.label),
  );
  if (noted === unfolds) throw new Error('conv2 both noted implicit and unfolded, or neither');
  return noted ? 'implicit' : 'im2col';
}

async function tunedPlan(options: TuneOptions, on: Gpu = gpu()) {
  const trainer = createTrainer(on, config, { tune: options });
  const plan = await trainer.plan('train', config.batchSize);
  return { trainer, plan, report: plan.tuning as TuningReport };
}

describe('choice names and the cache file', () => {
  it('reads back every name it writes and nothing else', () => {
    for (const c of [
      { variant: 'registerTile', wgCols: 16, wgRows: 4 },
      { variant: 'naive', wgCols: 8, wgRows: 8 },
      { variant: 'subgroupTile', wgSize: 32 },
      { variant: 'workgroupTile' },
    ] as const)
      expect(parseChoice(choiceName(c))).toEqual(c);
    for (const bad of [
      'registerTile 8x',
      'registerTile 0x8',
      'subgroupTile 1.5',
      'subgroupTile',
      'workgroupTile 8',
      'tiled 8x8',
      'registerTile 8x8 extra',
    ])
      expect(parseChoice(bad), bad).toBeUndefined();
  });

  it('says what is wrong with a file that is not a tune cache, and drops bad entries', () => {
    expect(parseTuneFile('{')).toBe('is not JSON');
    expect(parseTuneFile('{"format":"other"}')).toMatch(/not a shadergrad tune cache/);
    expect(parseTuneFile('{"format":"shadergrad-tune","version":9,"devices":{}}')).toMatch(
      /version 9/,
    );
    const file = parseTuneFile(
      JSON.stringify({
        format: 'shadergrad-tune',
        version: 1,
        devices: {
          d: {
            good: { choice: 'registerTile 8x4', ms: 1, defaultMs: 2 },
            path: { choice: 'im2col', ms: 1, defaultMs: 2 },
            unknown: { choice: 'fast please', ms: 1, defaultMs: 2 },
            noTimes: { choice: 'workgroupTile' },
          },
        },
      }),
    );
    expect(typeof file === 'object' && Object.keys(file.devices.d ?? {})).toEqual(['good', 'path']);
  });

  it("keeps choices timed under Dawn's throttled poll loop apart from those timed under its spin", () => {
    const adapter = gpu().adapter;
    const spin = deviceKey(adapter, ['code'], 'spin');
    // Spin keys are the keys written before the throttle existed: those entries stay usable.
    expect(spin).toBe(deviceKey(adapter, ['code']));
    expect(deviceKey(adapter, ['code'], 'throttled')).toBe(`${spin} | dawn poll throttled`);
    expect(deviceKey(adapter, ['other code'])).not.toBe(spin);
  });
});

describe("a compile's time budget", () => {
  it('is 20 s in cached mode, none in full mode, and what the options say in either', () => {
    expect(tuningBudgetMs({ mode: 'cached' })).toBe(20_000);
    expect(tuningBudgetMs({ mode: 'full' })).toBe(Number.POSITIVE_INFINITY);
    expect(tuningBudgetMs({ mode: 'full', budgetMs: 5_000 })).toBe(5_000);
    expect(tuningBudgetMs({ mode: 'cached', budgetMs: 0 })).toBe(0);
  });
});

describe('tuning a plan', () => {
  it('times every product, keeps the fastest that agrees, runs it, and stores it', async () => {
    const store = memoryStore();
    const { trainer, plan, report } = await tunedPlan(tune('full', store));
    try {
      const timed = report.products.filter((p) => p.source === 'timed');
      expect(timed.length).toBeGreaterThanOrEqual(5);
      const quadKRaced: string[] = [];
      for (const p of timed) {
        const rows = p.candidates ?? [];
        // The default is timed first; several kernels competed.
        expect(rows[0]?.ms).toBe(p.defaultMs);
        expect(rows.length, JSON.stringify(p)).toBeGreaterThanOrEqual(2);
        const finalists = rows.filter((r) => r.rejected === undefined && r.ms !== undefined);
        // Besides the default, only the FINALISTS fastest screens get the full median.
        expect(finalists.length).toBeLessThanOrEqual(1 + FINALISTS);
        // The winner is a finalist, and none beat it by the margin a finalist must win by.
        expect(finalists.map((r) => r.choice)).toContain(p.choice);
        expect(finalists.find((r) => r.choice === p.choice)?.ms).toBe(p.ms);
        for (const r of finalists)
          expect(r.ms ?? 0).toBeGreaterThanOrEqual((1 - MARGIN) * (p.ms ?? 0));
        // Nothing the tuner offers may disagree with the twin or the default.
        for (const r of rows) expect(r.rejected ?? '').not.toMatch(/differs|does not run/);
        if (isPath(p)) continue; // checked in the next test
        // workgroupTile races on a GPU only: on a CPU "GPU" it never passed the screen.
        const racedWorkgroupTile = rows.some((r) => r.choice === 'workgroupTile');
        expect(racedWorkgroupTile).toBe(!gpu().adapter.isSoftware);
        // registerTile's quadK is a kernel of its own only for A·B and Aᵀ·B products.
        if (rows.some((r) => r.choice === 'registerTile 8x8 quadK')) quadKRaced.push(p.label);
        // The plan dispatches the chosen kernel.
        expect(plan.prepared.map((c) => c.call.label)).toContain(p.label);
      }
      expect(quadKRaced.length).toBeGreaterThan(0);
      expect(quadKRaced.filter((label) => label.includes('A·Bᵀ'))).toEqual([]);
      expect(store.writes).toBe(1);
      const file = parseTuneFile(store.text ?? '');
      if (typeof file === 'string') throw new Error(file);
      const stored = Object.values(file.devices)[0] ?? {};
      expect(Object.keys(stored).sort()).toEqual(timed.map((p) => p.key).sort());
      expect(tuningLines(report)[0]).toMatch(/products timed, 0 from the cache/);
    } finally {
      trainer.destroy();
    }
  });

  it("races conv2's three input-gradient paths, and the plan takes the winner or a cached path", async () => {
    const store = memoryStore();
    const first = await tunedPlan(tune('full', store));
    const [path, ...others] = first.report.products.filter(isInputGradPath);
    first.trainer.destroy();
    // conv1 reads the images and has no input gradient: only conv2 (4 -> 8 channels) races.
    expect(others).toEqual([]);
    if (!path) throw new Error('no path entry');
    expect(path.key).toBe('conv dX [4, 14, 14] -> O=8 k5x5 s1x1 p2,2 batch 8');
    const rows = path.candidates ?? [];
    expect(rows.map((r) => r.choice).sort()).toEqual([
      'im2col',
      'implicit',
      'implicitRegisterTile',
    ]);
    for (const r of rows) expect(r.ms, JSON.stringify(r)).toBeGreaterThan(0);
    // A path whose one screening run was over SCREEN_FACTOR x the best screen got no final round
    // (its row has that screen) and is not the choice; the default's row comes first.
    const lead = rows.find((r) => r.rejected === undefined);
    expect(lead?.ms).toBe(path.defaultMs);
    for (const r of rows.filter((r) => r.rejected?.startsWith('over'))) {
      expect(r.rejected).toBe(`over ${SCREEN_FACTOR}x the best`);
      expect(r.ms).toBeGreaterThan(0);
      expect(r.choice).not.toBe(path.choice);
      expect(rows.indexOf(r)).toBeGreaterThan(rows.indexOf(lead ?? r));
    }
    expect(first.plan.notes.join('\n')).toMatch(pathNote(path.choice));
    // Another path, as another machine might have stored it: the plan takes it, and its
    // products (matmul + col2im adds dCols's) are timed. The register tile's unless it won here.
    const other = path.choice === 'implicitRegisterTile' ? 'im2col' : 'implicitRegisterTile';
    setStoredChoice(store, 'conv dX', other);
    const { trainer, plan, report } = await tunedPlan(tune('cached', store));
    try {
      expect(report.products.find(isInputGradPath)).toMatchObject({
        source: 'cached',
        choice: other,
      });
      expect(plan.notes.join('\n')).toMatch(pathNote(other));
      const dCols = /matmul\w*\.\w+( \S+)?\(Aᵀ·B, M=100 K=8 N=196, batch 8\)/;
      expect(plan.prepared.some((c) => dCols.test(c.call.label))).toBe(other === 'im2col');
      await trainSteps(trainer);
    } finally {
      trainer.destroy();
    }
  });

  it("races each convolution's forward and weight-gradient paths, and the plan takes the winner or a cached one", async () => {
    const store = memoryStore();
    const first = await tunedPlan(tune('full', store));
    const paths = first.report.products.filter(isConvPath);
    first.trainer.destroy();
    if (convPathsFor(gpu()).length < 2) {
      // SwiftShader, or no subgroups: the race would offer im2col alone, so there is none.
      expect(paths).toEqual([]);
      expect(takesPath(first.plan)).toBe('im2col');
      return;
    }
    // Both convolutions race: conv2 (4 channels in) and conv1, whose one channel the forward
    // sums by taps.
    expect(paths.map((p) => p.key).sort()).toEqual([
      'conv forward [1, 28, 28] -> O=4 k5x5 s1x1 p2,2 batch 8',
      'conv forward [4, 14, 14] -> O=8 k5x5 s1x1 p2,2 batch 8',
    ]);
    const defaults = preferredPolicy(gpu().adapter.kind, gpu().hasSubgroups);
    for (const entry of paths) {
      expect(entry.label).toMatch(/^conv2d forward and weight gradient by /);
      const rows = entry.candidates ?? [];
      expect(rows.map((r) => r.choice).sort()).toEqual(['im2col', 'implicit']);
      // Both agreed with the CPU twin and with each other, and both were timed.
      for (const r of rows) {
        expect(r.rejected ?? '').not.toMatch(/differs|does not run/);
        expect(r.ms, JSON.stringify(r)).toBeGreaterThan(0);
      }
      // The default first: the implicit products with the subgroupTile variant (im2col for a
      // forward by taps), else im2col.
      const [, C = 0, H = 0] = /\[(\d+), (\d+)/.exec(entry.key)?.map(Number) ?? [];
      const g = conv2dGeometry({ N: 8, C, H, W: H }, 5, 1, 'same');
      expect(rows[0]?.choice).toBe(defaults.convPath(g));
    }
    const path = paths.find((p) => p.key.startsWith('conv forward [4,'));
    if (!path) throw new Error('no forward path entry for conv2');
    expect(takesPath(first.plan)).toBe(path.choice);
    // The other path, as another machine might have stored it: the plan takes it, and the im2col
    // path's forward product is timed with the other products.
    const other = path.choice === 'implicit' ? 'im2col' : 'implicit';
    setStoredChoice(store, 'conv forward [4,', other);
    const { trainer, plan, report } = await tunedPlan(tune('cached', store));
    try {
      const cached = report.products.find((p) => p.key === path.key);
      expect(cached).toMatchObject({ source: 'cached', choice: other });
      expect(takesPath(plan)).toBe(other);
      const forwardProduct = report.products.find((p) => /M=8 K=100 N=196, batch 8/.test(p.label));
      expect(forwardProduct !== undefined).toBe(other === 'im2col');
      const weights = await trainSteps(trainer);
      expect(weights.every(Number.isFinite)).toBe(true);
    } finally {
      trainer.destroy();
    }
  });

  it('under mixed precision, races the forward paths on their f16 scratch (keyed apart from f32), and no dCols past the binding the f16 cols fit', async () => {
    await onF16Device(gpu(), async () => {
      const g = buildGraph(config.model, config.batchSize);
      const store = new ParameterStore(gpu(), g.parameters(), config.optimizer, config.seed);
      try {
        // conv2's cols: 8 x 100 x 196 in f16, 313,600 bytes, filling the binding; its dCols in
        // f32, twice that.
        const plan = await compilePlan(gpu(), g, store, {
          training: true,
          precision: 'f16',
          maxBindingBytes: 313_600,
          tune: tune('full', memoryStore()),
        });
        const products = plan.tuning?.products ?? [];
        const notes = plan.notes.join('\n');
        plan.destroy();
        const dX = products.find(isInputGradPath);
        expect(dX?.key).toBe('conv dX [4, 14, 14] -> O=8 k5x5 s1x1 p2,2 batch 8');
        expect(dX?.candidates?.find((r) => r.choice === 'im2col')?.rejected).toBe(
          'its dCols for 8 samples (627200 bytes) would pass the largest binding (313600)',
        );
        expect(dX?.choice).not.toBe('im2col');
        // Either forward path keeps what its products read in f16 (the race picks one).
        expect(notes).toMatch(
          /^conv2: (im2col matrix \[8, 100, 196\]|padded x \[8, 4, 18, 20\]) stored as f16/m,
        );
        const paths = products.filter(isConvPath);
        if (convPathsFor(gpu()).length < 2) {
          expect(paths).toEqual([]);
          return;
        }
        expect(paths.map((p) => p.key).sort()).toEqual([
          'conv forward [1, 28, 28] -> O=4 k5x5 s1x1 p2,2, x stored as f16 batch 8',
          'conv forward [4, 14, 14] -> O=8 k5x5 s1x1 p2,2, x stored as f16 batch 8',
        ]);
        for (const entry of paths) {
          // The whole batch: the race counts the f16 cols' 2 bytes per element, as the plan does.
          expect(entry.label).not.toMatch(/timed on/);
          // The twin check multiplies x rounded to f16: a path that read f32 scratch would differ
          // from it by more than float32's rounding bound, and one that failed to run would say so.
          for (const r of entry.candidates ?? []) {
            expect(r.rejected ?? '').not.toMatch(/differs|does not run/);
            expect(r.ms, JSON.stringify(r)).toBeGreaterThan(0);
          }
        }
      } finally {
        store.destroy();
      }
    });
  });

  it('uses cached choices as stored, times nothing, and trains bit-identically with them', async () => {
    const store = memoryStore();
    const first = await tunedPlan(tune('full', store));
    first.trainer.destroy();
    // Force one recognizable choice on every product, as another machine might have stored.
    const forced = forceChoices(store, 'registerTile 4x8');
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const { trainer, plan, report } = await tunedPlan(tune('cached', store));
      const seconds = (performance.now() - started) / 1000;
      const cached = report.products.filter((p) => p.source === 'cached');
      expect(cached.length).toBe(first.report.products.filter((p) => p.source === 'timed').length);
      for (const p of cached.filter((c) => !isPath(c))) {
        expect(p.choice).toBe('registerTile 4x8');
        expect(p.label).toMatch(/^matmul\.matmulRegisterTile\w* 4x8\(/);
        expect(plan.prepared.map((c) => c.call.label)).toContain(p.label);
      }
      expect(report.products.every((p) => p.candidates === undefined)).toBe(true);
      expect(seconds).toBeLessThan(first.report.seconds + 5);
      runs.push(await trainSteps(trainer));
      trainer.destroy();
    }
    expect(store.text).toBe(forced); // nothing was timed, so nothing was written
    const [a, b] = runs;
    expect(a && b && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))).toBe(true);
  });

  it("replays an earlier compile's choices, whatever the cache holds now, and trains the same", async () => {
    const store = memoryStore();
    const first = await tunedPlan(tune('full', store));
    const labels = (plan: typeof first.plan) => plan.prepared.map((c) => c.call.label);
    // The cache changes (another run stored naive kernels): a plain cached compile follows it...
    const forced = forceChoices(store, 'naive 8x8');
    const follows = await tunedPlan(tune('cached', store));
    expect(labels(follows.plan)).not.toEqual(labels(first.plan));
    follows.trainer.destroy();
    // ...a replay of the first report does not: the same entries, nothing timed or stored.
    const earlier = first.report.products;
    const again = await tunedPlan({ ...tune('cached', store), replay: earlier });
    try {
      expect(labels(again.plan)).toEqual(labels(first.plan));
      // Reported as they were, what was timed then as cached now.
      const cachedNow = (source: string) => (source === 'timed' ? 'cached' : source);
      expect(again.report.products.map((p) => [p.key, p.choice, p.source])).toEqual(
        earlier.map((p) => [p.key, p.choice, cachedNow(p.source)]),
      );
      expect(store.text).toBe(forced);
      const [a, b] = [await trainSteps(first.trainer), await trainSteps(again.trainer)];
      expect(a.every((x, i) => Object.is(x, b[i]))).toBe(true);
    } finally {
      first.trainer.destroy();
      again.trainer.destroy();
    }
  });

  it('keeps a fixed matmulVariant: other variants in the cache are not used', async () => {
    const store = memoryStore();
    const first = await tunedPlan(tune('full', store));
    first.trainer.destroy();
    store.text = (store.text ?? '').replace(/"choice": "[^"]*"/g, '"choice": "registerTile 4x8"');
    const options = { matmulVariant: 'workgroupTile' as const, tune: tune('cached', store) };
    const trainer = createTrainer(gpu(), config, options);
    try {
      const report = (await trainer.plan('train', config.batchSize)).tuning;
      const timed = report?.products.filter((p) => p.source === 'timed') ?? [];
      expect(timed.length).toBeGreaterThan(0);
      for (const p of timed) {
        expect(p.choice).toBe('workgroupTile');
        expect(p.candidates?.map((c) => c.choice)).toEqual(['workgroupTile']);
      }
      // Stored apart: the open race's entries are still the ones it stored.
      expect(store.text).toContain('"workgroupTile only; ');
      expect(store.text).toContain('"choice": "registerTile 4x8"');
    } finally {
      trainer.destroy();
    }
  });

  it('leaves a store it cannot read as it is and still tunes', async () => {
    const store = memoryStore('not a cache {');
    const { trainer, report } = await tunedPlan(tune('cached', store));
    try {
      expect(report.stored).toMatch(/not kept: memory:tune is not JSON: left as it is/);
      expect(report.products.some((p) => p.source === 'timed')).toBe(true);
      expect(store.writes).toBe(0);
      expect(store.text).toBe('not a cache {');
    } finally {
      trainer.destroy();
    }
  });

  it('still compiles when the store cannot be written, and says the choices were not kept', async () => {
    const store = memoryStore();
    store.write = () => Promise.reject(new Error('EROFS: read-only file system'));
    const { trainer, report } = await tunedPlan(tune('full', store));
    try {
      expect(report.stored).toBe('not kept: EROFS: read-only file system');
      expect(report.products.some((p) => p.source === 'timed')).toBe(true);
    } finally {
      trainer.destroy();
    }
  });

  it('off compiles without a report', async () => {
    const trainer = createTrainer(gpu(), config, { tune: { mode: 'off' } });
    expect((await trainer.plan('train', config.batchSize)).tuning).toBeUndefined();
    trainer.destroy();
  });
});

// Without the subgroups feature (browsers that lack it) the race has two paths, and a cached
// subgroupTile path, stored for another device, is timed again rather than compiled.
describe("the race of a convolution's forward and weight-gradient paths", () => {
  // conv2 of the small config: its cols take 100 x 196 floats (78,400 bytes) a sample.
  const conv = { g: conv2dGeometry({ N: 8, C: 4, H: 14, W: 14 }, 5, 1, 'same'), O: 8 };
  const hardwareLike = new DefaultPolicy({ variant: 'registerTile' }); // im2col by default
  const offered = () => convPathsFor(gpu());

  it("times as many samples as im2col's cols fit in a binding, the default first", async () => {
    const result = await tuneConvPath(gpu(), conv, hardwareLike, 200_000);
    expect(result.timedSamples).toBe(2);
    expect(result.candidates[0]).toMatchObject({ choice: 'im2col' });
    expect(result.candidates.map((r) => r.choice).sort()).toEqual([...offered()].sort());
    for (const r of result.candidates) expect(r.rejected ?? '').not.toMatch(/differs|not run/);
    expect(result.defaultMs).toBe(result.candidates[0]?.ms);
  });

  it('takes the implicit path where one sample of cols would pass the binding', async () => {
    const result = await tuneConvPath(gpu(), conv, hardwareLike, 50_000);
    expect(result.candidates[0]).toEqual({
      choice: 'im2col',
      rejected: 'its cols for 1 samples (78400 bytes) would pass the largest binding (50000)',
    });
    if (!offered().includes('implicit')) {
      // Nothing else to time: the default stays, untimed.
      expect(result).toMatchObject({ path: 'im2col', candidates: [result.candidates[0]] });
      return expect(result.ms).toBeUndefined();
    }
    // The implicit path stands in for the default it could not be compared with.
    expect(result.path).toBe('implicit');
    expect(result.ms).toBeGreaterThan(0);
    expect(result.defaultMs).toBe(result.ms);
  });
});

describe('tuning on a device without subgroups', () => {
  it('races the register tile and matmul + col2im, and never takes the subgroupTile kernel', async () => {
    const plain = await plainTestGpu();
    try {
      expect(plain.hasSubgroups).toBe(false);
      const store = memoryStore();
      const first = await tunedPlan(tune('full', store), plain);
      const path = first.report.products.find(isInputGradPath);
      first.trainer.destroy();
      const raced = (path?.candidates ?? []).map((r) => r.choice).sort();
      expect(raced).toEqual(['im2col', 'implicitRegisterTile']);
      // The forward and weight gradient have one path here (the implicit products need subgroups).
      expect(first.report.products.filter(isConvPath)).toEqual([]);
      expect(first.plan.notes.join('\n')).not.toMatch(/by the implicit product, straight from x/);
      setStoredChoice(store, 'conv dX', 'implicit');
      const { trainer, plan, report } = await tunedPlan(tune('cached', store), plain);
      try {
        const again = report.products.find(isInputGradPath);
        expect(again?.source).toBe('timed');
        expect(['im2col', 'implicitRegisterTile']).toContain(again?.choice);
        expect(plan.notes.join('\n')).toMatch(pathNote(again?.choice ?? ''));
        const weights = await trainSteps(trainer, plain);
        expect(weights.every(Number.isFinite)).toBe(true);
      } finally {
        trainer.destroy();
      }
      // subgroupTile choices, cached by a device with the feature or replayed from another
      // machine's checkpoint, are timed again here rather than compiled.
      forceChoices(store, 'subgroupTile 8');
      const replay = first.report.products.map((p) => ({ ...p, choice: 'subgroupTile 8' }));
      const foreign = await tunedPlan({ ...tune('cached', store), replay }, plain);
      try {
        const products = foreign.report.products.filter((p) => !isPath(p));
        expect(products.length).toBeGreaterThan(0);
        for (const p of products) {
          expect(p.source).toBe('timed');
          expect(p.choice).not.toMatch(/subgroupTile/);
        }
        expect(foreign.plan.prepared.some((c) => c.call.entryPoint.includes('Subgroup'))).toBe(
          false,
        );
      } finally {
        foreign.trainer.destroy();
      }
    } finally {
      plain.destroy();
    }
  });
});

/** Three training steps on fixed data; the weights after them, all parameters in order. */
async function trainSteps(
  trainer: ReturnType<typeof createTrainer>,
  on: Gpu = gpu(),
): Promise<number[]> {
  const n = config.batchSize;
  for (let step = 0; step < 3; step++)
    await trainer.trainStep(randomFloats(n * 28 * 28, step, 0, 1), randomInts(n, step, 10));
  const out: number[] = [];
  for (const [, p] of trainer.store.trainableParams())
    out.push(...(await readFloat32(on, p.value)));
  return out;
}
