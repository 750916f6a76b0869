// The CPU reference step against PyTorch (golden file), against central differences, and its
// input checks. CPU only: no GPU device is opened here.
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { Graph } from '../../src/graph/graph';
import {
  referenceForward,
  referenceTrainStep,
  type ReferenceInputs,
  type ReferenceState,
} from '../../src/graph/cpuReference';
import type { FloatArray } from '../../src/kernels/common.cpu';
import type { OptimizerConfig } from '../../src/kernels/optimizer.cpu';
import { expectAllClose, type Tolerance } from '../helpers/allclose';
import { numericalGradient } from '../helpers/finiteDiff';
import {
  goldenGraph,
  goldenLabels,
  goldenParams,
  loadGolden,
  type GoldenCase,
} from '../helpers/golden';
import { randomFloats, randomInts } from '../../src/base/random';

// ---- the PyTorch golden case (../shared/golden: see its README.md and .json)

const golden = loadGolden();
const goldenJson = golden.json as GoldenCase['json'] & {
  float64_reference: { losses_per_step: number[]; loss_after_step3: number };
  adam: { lr: number; beta1: number; beta2: number; eps: number };
};
const adam: OptimizerConfig = { kind: 'adam', ...goldenJson.adam };
const f32 = (name: string): Float32Array => golden.f32(name);
const goldenInputs = (): ReferenceInputs => ({
  images: f32('input'),
  labels: goldenLabels(golden),
});

function goldenState(precision: 'f32' | 'f64'): ReferenceState {
  const copy = (n: string) => (precision === 'f32' ? Float32Array : Float64Array).from(f32(n));
  const params = new Map(goldenParams.map((n) => [n, copy(n)]));
  return { params, optimizerState: new Map(), step: 0 };
}

function get<K, V>(m: ReadonlyMap<K, V>, key: K): V {
  const v = m.get(key);
  if (v === undefined) throw new Error(`missing ${String(key)}`);
  return v;
}

// The json's tolerance_guide: act.* and grad.* within 1e-5 + 1e-3·|ref| (PyTorch f32 vs f64
// differ by ~1e-7 relative; our f32 sums run in another order, so the same order of error).
const actTol: Tolerance = { atol: 1e-5, rtol: 1e-3 };
// Adam divides by sqrt(v) + 1e-8, so elements with a tiny gradient amplify rounding: the guide
// allows 1e-4 (10% of one lr step) everywhere and asks >= 99.9% of elements within 1e-6.
const stepTol: Tolerance = { atol: 1e-4, rtol: 0 };

function fractionWithin(a: FloatArray, b: FloatArray, atol: number): number {
  let ok = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)) <= atol) ok++;
  return ok / a.length;
}

describe('reference step vs PyTorch (golden_pad2_c4_8_h32)', () => {
  // act.* hold the outputs of these nodes (the convs and fc1 after their ReLU, as the zeros show)
  const { graph, nodes: acts } = goldenGraph(8);

  it('matches the loss, every activation and every gradient at the initial parameters', () => {
    const r = referenceTrainStep(graph, goldenState('f32'), goldenInputs(), adam);
    // One f32 ulp at 2.3 is 2.4e-7 (PyTorch's f32 and f64 differ by that); 1e-6 allows 4 ulps
    // for our different summation order.
    expect(Math.abs(r.loss - goldenJson.loss_initial)).toBeLessThan(1e-6);
    for (const [name, id] of Object.entries(acts)) {
      expect(get(r.values, id)).toBeInstanceOf(Float32Array);
      expectAllClose(get(r.values, id), f32(`act.${name}`), actTol, `act.${name}`);
    }
    expectAllClose(get(r.nodeGrads, acts.logits ?? -1), f32('grad.logits'), actTol, 'grad.logits');
    for (const name of goldenParams)
      expectAllClose(get(r.grads, name), f32(`grad.${name}`), actTol, `grad.${name}`);
  });

  it('matches the parameters after 1, 2 and 3 Adam steps, and the loss before each', () => {
    const state = goldenState('f32');
    for (let step = 1; step <= 3; step++) {
      const { loss } = referenceTrainStep(graph, state, goldenInputs(), adam);
      expect(Math.abs(loss - (goldenJson.losses_per_step[step - 1] ?? NaN))).toBeLessThan(1e-6);
      expect(state.step).toBe(step);
      for (const name of goldenParams) {
        const want = f32(`step${step}.${name}`);
        expectAllClose(get(state.params, name), want, stepTol, `step${step}.${name}`);
        expect(fractionWithin(get(state.params, name), want, 1e-6)).toBeGreaterThanOrEqual(0.999);
      }
    }
    const after = referenceForward(graph, state.params, goldenInputs());
    expect(Math.abs(after.loss - goldenJson.loss_after_step3)).toBeLessThan(1e-6);
  });

  it('in f64 matches the float64 PyTorch losses to 1e-9', () => {
    // Same f32-valued parameters and images in float64 arithmetic on both sides: only
    // summation order differs (~1e-15 relative), far below the 1e-9 asked.
    const state = goldenState('f64');
    const f64 = goldenJson.float64_reference;
    for (let step = 0; step < 3; step++) {
      const { loss, values } = referenceTrainStep(graph, state, goldenInputs(), adam, 'f64');
      expect(get(values, acts.logits ?? -1)).toBeInstanceOf(Float64Array);
      expect(Math.abs(loss - (f64.losses_per_step[step] ?? NaN))).toBeLessThan(1e-9);
    }
    const after = referenceForward(graph, state.params, goldenInputs(), 'f64').loss;
    expect(Math.abs(after - f64.loss_after_step3)).toBeLessThan(1e-9);
  });

  it('lowers the loss over 20 Adam steps on the golden batch', () => {
    const state = goldenState('f32');
    const losses = Array.from(
      { length: 20 },
      () => referenceTrainStep(graph, state, goldenInputs(), adam).loss,
    );
    const final = referenceForward(graph, state.params, goldenInputs()).loss;
    // Full-batch Adam with lr 1e-3 on one batch: each step lowers the loss (3 steps took 0.023).
    for (let i = 1; i < losses.length; i++)
      expect(losses[i]).toBeLessThan(losses[i - 1] ?? -Infinity);
    expect(final).toBeLessThan(goldenJson.loss_initial - 0.1);
  });
});

// ---- finite differences in float64

type Build = (g: Graph, x: number) => number;

/**
 * A small graph on 2 random images [2, 1, size, size], with random parameters, labels in
 * [0, classes) and mse targets [2, classes] (each graph uses what it needs).
 */
function tinyCase(size: number, classes: number, build: Build, seed: number) {
  const g = new Graph();
  build(g, g.input('images', [2, 1, size, size]));
  const params = new Map(
    g.parameters().map((p, i) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return [p.name, Float64Array.from(randomFloats(n, seed + i, -0.8, 0.8))];
    }),
  );
  const inputs = {
    images: Float64Array.from(randomFloats(2 * size * size, seed + 100, -1, 1)),
    labels: randomInts(2, seed + 200, classes),
    targets: Float64Array.from(randomFloats(2 * classes, seed + 300, -1, 1)),
  };
  return { graph: g, params, inputs };
}

const tinyCases: [string, number, number, Build][] = [
  [
    "conv 3x3 'same' tanh, avgPool 2, dense sigmoid, softmax CE",
    6,
    3,
    (g, x) => {
      const c = g.conv2d(x, {
        name: 'conv',
        features: 2,
        kernel: 3,
        padding: 'same',
        activation: 'tanh',
      });
      const pooled = g.flatten(g.pool('avgPool', c, 2));
      const d = g.dense(pooled, { name: 'fc', units: 3, activation: 'sigmoid' });
      return g.softmaxCrossEntropy(d, g.labels('labels', 2));
    },
  ],
  [
    'conv 3x3 valid stride 2 relu, maxPool 2, dense, softmax CE',
    9,
    3,
    (g, x) => {
      const c = g.conv2d(x, {
        name: 'conv',
        features: 2,
        kernel: 3,
        stride: 2,
        activation: 'relu',
      });
      const d = g.dense(g.flatten(g.pool('maxPool', c, 2)), { name: 'fc', units: 3 });
      return g.softmaxCrossEntropy(d, g.labels('labels', 2));
    },
  ],
  [
    'dense, tanh activation node, dense, mse against a targets input',
    3,
    4,
    (g, x) => {
      const h = g.activation(g.dense(g.flatten(x), { name: 'fc1', units: 5 }), 'tanh');
      return g.mse(g.dense(h, { name: 'fc2', units: 4 }), g.input('targets', [2, 4]));
    },
  ],
];

function buildOf(i: number): Build {
  const c = tinyCases[i];
  if (!c) throw new Error(`no tiny case ${i}`);
  return c[3];
}

describe('reference gradients vs central differences (float64)', () => {
  // h = 1e-6 on O(1) losses: truncation ~h^2 f''' ~ 1e-12, rounding ~eps64/h ~ 1e-10; 1e-8 + 1e-6
  // relative leaves a wide margin yet fails any wrong term (gradients here are ~1e-3 .. 1).
  const fdTol: Tolerance = { atol: 1e-8, rtol: 1e-6 };
  it.each(tinyCases)('%s', (_, size, classes, build) => {
    const { graph, params, inputs } = tinyCase(size, classes, build, 7 * size + classes);
    const copies = new Map([...params].map(([k, v]) => [k, Float64Array.from(v)]));
    const state: ReferenceState = { params: copies, optimizerState: new Map(), step: 0 };
    const sgd: OptimizerConfig = { kind: 'sgd', lr: 0.1 };
    const { grads, loss } = referenceTrainStep(graph, state, inputs, sgd, 'f64');
    const lossOf = () => referenceForward(graph, params, inputs, 'f64').loss;
    expect(loss).toBe(lossOf()); // the same float64 operations in the same order
    for (const [name, p] of params) {
      const analytic = get(grads, name);
      expect(Math.max(...analytic.map(Math.abs)), `${name}: all-zero gradient`).toBeGreaterThan(
        1e-4,
      );
      expectAllClose(analytic, numericalGradient(lossOf, p), fdTol, `d loss / d ${name}`);
      // plain SGD moved the state's copy by -lr·grad (one f64 multiply-subtract) and not `params`
      const moved = p.map((v, i) => v - 0.1 * (analytic[i] ?? NaN));
      expectAllClose(get(state.params, name), moved, { atol: 1e-15, rtol: 0 }, `sgd ${name}`);
    }
  });
});

describe('reference checks its inputs', () => {
  const { graph, params, inputs } = tinyCase(6, 3, buildOf(0), 1);

  it('rejects images, labels and parameters of the wrong size, and missing parameters', () => {
    const bad = (p: ReadonlyMap<string, FloatArray>, i: Partial<ReferenceInputs>) => () =>
      referenceForward(graph, p, { ...inputs, ...i });
    expect(bad(params, { images: new Float64Array(5) })).toThrow(ShadergradError);
    expect(bad(params, { images: new Float64Array(5) })).toThrow(/images .* 5 values, expected 72/);
    expect(bad(params, { labels: new Int32Array(3) })).toThrow(/labels holds 3 values, expected 2/);
    const short = new Map(params).set('fc.bias', new Float64Array(2));
    expect(bad(short, {})).toThrow(/'fc\.bias' \[3\] holds 2 values, expected 3/);
    const missing = new Map(params);
    missing.delete('conv.weight');
    expect(bad(missing, {})).toThrow(/no parameter named 'conv.weight'/);
  });

  it('stores f32 intermediates in Float32Array and f64 ones in Float64Array', () => {
    const f32Run = referenceForward(graph, params, inputs, 'f32');
    const f64Run = referenceForward(graph, params, inputs, 'f64');
    for (const n of graph.nodes) {
      if (n.op === 'labels') continue;
      expect(get(f32Run.values, n.id)).toBeInstanceOf(Float32Array);
      expect(get(f64Run.values, n.id)).toBeInstanceOf(Float64Array);
    }
    // flatten is a view: its value is the pool's array itself
    const flat = graph.nodes.find((n) => n.op === 'flatten');
    expect(get(f64Run.values, flat?.id ?? -1)).toBe(get(f64Run.values, flat?.inputs[0] ?? -1));
    // float32 rounding moves the loss by ~1e-7 relative, no more
    expect(Math.abs(f32Run.loss - f64Run.loss)).toBeLessThan(1e-5);
  });

  it('mse reads its targets from the input node named targets', () => {
    const mse = tinyCase(3, 4, buildOf(2), 2);
    const { targets } = mse.inputs;
    const { values, loss } = referenceForward(mse.graph, mse.params, mse.inputs, 'f64');
    const pred = get(values, mse.graph.nodes.length - 3); // fc2, before the targets input and mse
    const want = Array.from(pred).reduce((s, v, i) => s + (v - (targets[i] ?? NaN)) ** 2, 0) / 8;
    expect(loss).toBeCloseTo(want, 14); // mean over N·D = 8
    const noTargets = { images: mse.inputs.images, labels: mse.inputs.labels };
    expect(() => referenceForward(mse.graph, mse.params, noTargets)).toThrow(
      /no data for input 'targets'/,
    );
  });
});

describe('reference dropout', () => {
  const build: Build = (g, x) => {
    const h = g.dense(g.flatten(x), { name: 'fc1', units: 6, activation: 'tanh' });
    const d = g.dropout(h, 0.5, 'drop');
    return g.softmaxCrossEntropy(g.dense(d, { name: 'fc2', units: 3 }), g.labels('labels', 2));
  };
  const { graph, params, inputs } = tinyCase(3, 3, build, 5);
  const drop = graph.nodes.find((n) => n.op === 'dropout') ?? graph.get(-1);

  it('trains with the masks of state.step: gradients equal central differences (float64)', () => {
    const state: ReferenceState = {
      params: new Map([...params].map(([k, v]) => [k, Float64Array.from(v)])),
      optimizerState: new Map(),
      step: 4,
    };
    const sgd: OptimizerConfig = { kind: 'sgd', lr: 0.1 };
    const { grads, loss, values } = referenceTrainStep(graph, state, inputs, sgd, 'f64');
    // The loss as a function of the parameters with step 4's masks fixed.
    const lossOf = () => referenceForward(graph, params, inputs, 'f64', 4).loss;
    expect(loss).toBe(lossOf());
    const fdTol: Tolerance = { atol: 1e-8, rtol: 1e-6 }; // as for the graphs above
    for (const [name, p] of params)
      expectAllClose(get(grads, name), numericalGradient(lossOf, p), fdTol, `d loss / d ${name}`);
    const y = get(values, drop.id);
    expect(y.some((v) => v === 0)).toBe(true); // some units dropped, the rest scaled by 2
    const x = get(values, drop.inputs[0] ?? -1);
    expect(y.every((v, i) => v === 0 || v === 2 * (x[i] ?? NaN))).toBe(true);
    const next = referenceForward(graph, params, inputs, 'f64', 5).values;
    expect(get(next, drop.id).some((v, i) => (v === 0) !== (y[i] === 0))).toBe(true);
  });

  it('is the identity in evaluation: the value is its input array', () => {
    const { values } = referenceForward(graph, params, inputs, 'f64');
    expect(get(values, drop.id)).toBe(get(values, drop.inputs[0] ?? -1));
  });
});
