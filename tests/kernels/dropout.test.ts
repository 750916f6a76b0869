import { describe, expect, it } from 'vitest';
import { readFloat32, uploadTensor } from '../../src/gpu/buffers';
import { ShadergradError } from '../../src/base/errors';
import type { StepPlan } from '../../src/graph/executor';
import { Graph } from '../../src/graph/graph';
import { referenceForward, referenceTrainStep } from '../../src/graph/cpuReference';
import type { GpuTensor } from '../../src/gpu/tensor';
import { Trainer } from '../../src/train/trainer';
import { dropoutBackward, dropoutForward } from '../../src/kernels/dropout';
import {
  dropoutBackwardCpu,
  dropoutForwardCpu,
  dropoutMaskCpu,
  dropoutScale,
  dropoutThreshold,
  lowbias32,
} from '../../src/kernels/dropout.cpu';
import { optimizerStepBegin } from '../../src/kernels/optimizer';
import { defaultTrainConfig } from '../../src/models/config';
import { buildGraph } from '../../src/models/network';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats, randomInts } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

// Masks are integer hashes and the scaled values one correctly rounded f32 multiply on both
// sides, so the GPU must match the twin bit for bit.
const exact = { atol: 0, rtol: 0 };

const gpu = useTestGpu();

const stepTensor = (t: number): GpuTensor => uploadTensor(gpu(), new Uint32Array([t]), [1]);
const keptFraction = (keep: Uint8Array): number => keep.reduce((a, b) => a + b, 0) / keep.length;

describe('dropout twin', () => {
  it('hashes like an independent u32 implementation of lowbias32', () => {
    // Values from a Python big-integer implementation masked to 32 bits (not from this code).
    expect(lowbias32(0)).toBe(0); // the hash's fixed point
    expect(lowbias32(1)).toBe(0x688990c0);
    expect(lowbias32(2)).toBe(0xd1132181);
    expect(lowbias32(0xdeadbeef)).toBe(0xe628c683);
    expect(lowbias32(0xffffffff)).toBe(0x6768824a);
    expect([dropoutThreshold(0), dropoutThreshold(0.5), dropoutThreshold(0.25)]).toEqual([
      0,
      2 ** 31,
      2 ** 30,
    ]);
    expect([dropoutScale(0), dropoutScale(0.5), dropoutScale(0.25)]).toEqual([
      1,
      2,
      Math.fround(4 / 3),
    ]);
  });

  it('matches a hand-computed mask', () => {
    // Python: bits(i) for seed 1, step 0, layer 0 are 4da918ef 55f222c3 ddb7cf1f 1f5d201b
    // 3766c75c dadb8ac7; p = 0.5 keeps bits >= 2^31, i.e. elements 2 and 5, scaled by 2.
    const x = new Float64Array([1, 2, 3, 4, 5, 6]);
    const y = new Float64Array(6);
    dropoutForwardCpu({ x, step: [0], y, rate: 0.5, seed: 1, layer: 0 });
    expect([...y]).toEqual([0, 0, 6, 0, 0, 12]);
    // seed 7, step 3, layer 2: bits e1b2c498 9e3a508e bbde7651 1d3d5947 4684a75e 488eab4a;
    // p = 0.25 drops bits < 2^30: element 3 only.
    dropoutForwardCpu({ x, step: [3], y, rate: 0.25, seed: 7, layer: 2 });
    const s = Math.fround(4 / 3);
    expect([...y]).toEqual([1 * s, 2 * s, 3 * s, 0, 5 * s, 6 * s]);
  });

  it('drops a fraction p of 100k elements, within 5 sigma', () => {
    const n = 100_000;
    for (const [rate, step, layer] of [
      [0.3, 0, 0],
      [0.3, 41, 3],
      [0.05, 7, 1],
      [0.9, 2, 5],
    ] as const) {
      const dropped = 1 - keptFraction(dropoutMaskCpu(n, { step: [step], rate, seed: 11, layer }));
      const sigma = Math.sqrt((rate * (1 - rate)) / n); // binomial standard error
      expect(Math.abs(dropped - rate), `p ${rate}`).toBeLessThan(5 * sigma);
    }
    expect(keptFraction(dropoutMaskCpu(1000, { step: [5], rate: 0, seed: 1, layer: 0 }))).toBe(1);
  });

  it('draws independent-looking masks for other steps, layers and seeds', () => {
    // Two independent masks with P(keep) = 0.7 agree on a fraction 0.7^2 + 0.3^2 = 0.58.
    const [n, rate] = [100_000, 0.3];
    const base = dropoutMaskCpu(n, { step: [4], rate, seed: 9, layer: 1 });
    const others = [
      dropoutMaskCpu(n, { step: [5], rate, seed: 9, layer: 1 }),
      dropoutMaskCpu(n, { step: [4], rate, seed: 9, layer: 2 }),
      dropoutMaskCpu(n, { step: [4], rate, seed: 10, layer: 1 }),
    ];
    const sigma = Math.sqrt((0.58 * 0.42) / n);
    for (const other of others) {
      const agree = base.reduce((a, b, i) => a + (b === other[i] ? 1 : 0), 0) / n;
      expect(Math.abs(agree - 0.58)).toBeLessThan(5 * sigma);
    }
  });

  it('backward equals central differences with the mask fixed (float64)', () => {
    const x = toF64(randomFloats(50, 3, -2, 2));
    const w = toF64(randomFloats(50, 4));
    const hyper = { step: [6], rate: 0.4, seed: 2, layer: 3 };
    const y = new Float64Array(50);
    const loss = (): number => {
      dropoutForwardCpu({ x, y, ...hyper });
      return weightedSum(y, w);
    };
    const dX = new Float64Array(50);
    dropoutBackwardCpu({ dY: w, dX, ...hyper });
    // y is linear in x: central differences are exact up to rounding, ~1e-10 with h = 1e-6.
    expectAllClose(dX, numericalGradient(loss, x), { atol: 1e-8, rtol: 1e-6 });
    expect(dX.some((v) => v === 0) && dX.some((v) => v !== 0)).toBe(true);
  });
});

describe('dropout on the GPU', () => {
  async function forwardBackward(n: number, step: number, rate: number): Promise<void> {
    const hyper = { rate, seed: 1234, layer: 7 };
    const xHost = randomFloats(n, n, -1e4, 1e4); // large values: the scale must not overflow
    const y = guardedOutput(gpu(), [n]);
    const call = dropoutForward({
      x: upload(gpu(), xHost, [n]),
      step: stepTensor(step),
      y: y.tensor,
      ...hyper,
    });
    const got = await runAndRead(gpu(), call, y.tensor);
    const want = new Float32Array(n);
    dropoutForwardCpu({ x: xHost, step: [step], y: want, ...hyper });
    expectAllClose(got, want, exact, 'forward');
    await y.check();

    const dYHost = randomFloats(n, n + 1);
    const dX = guardedOutput(gpu(), [n]);
    const dY = upload(gpu(), dYHost, [n]);
    const back = dropoutBackward({ dY, step: stepTensor(step), dX: dX.tensor, ...hyper });
    const gotDx = await runAndRead(gpu(), back, dX.tensor);
    const wantDx = new Float32Array(n);
    dropoutBackwardCpu({ dY: dYHost, step: [step], dX: wantDx, ...hyper });
    expectAllClose(gotDx, wantDx, exact, 'backward');
    await dX.check();
  }

  it.each([1, 7, 65, 1000])('forward and backward match the twin bit for bit, n = %i', (n) =>
    forwardBackward(n, 3, 0.3),
  );

  it('is the identity at p = 0, and tracks a step counter past 2^31', async () => {
    await forwardBackward(257, 0, 0);
    await forwardBackward(257, 0xfffffff0, 0.5);
  });

  it('reads the step from the GPU counter, so a step taken between dispatches changes the mask', async () => {
    const n = 4096;
    const hyper = { rate: 0.5, seed: 5, layer: 0 };
    const x = upload(gpu(), new Float32Array(n).fill(1), [n]);
    const [step, y0, y1] = [stepTensor(0), guardedOutput(gpu(), [n]), guardedOutput(gpu(), [n])];
    const got1 = await runAndRead(
      gpu(),
      [
        dropoutForward({ x, step, y: y0.tensor, ...hyper }),
        optimizerStepBegin({ step }),
        dropoutForward({ x, step, y: y1.tensor, ...hyper }),
      ],
      y1.tensor,
    );
    const got0 = await readFloat32(gpu(), y0.tensor);
    const mask = (t: number) =>
      Float32Array.from(dropoutMaskCpu(n, { step: [t], ...hyper }), (k) => 2 * k);
    expectAllClose(got0, mask(0), exact, 'step 0');
    expectAllClose(got1, mask(1), exact, 'step 1');
    expect(got0.some((v, i) => v !== got1[i])).toBe(true);
  });

  it('covers every element of a dispatch past 65535 workgroups', async () => {
    const n = 65536 * 256 + 5; // 65537 workgroups of 256: the grid spills into y
    const hyper = { rate: 0.2, seed: 3, layer: 1 };
    const xHost = randomFloats(n, 3, -1, 1);
    const y = guardedOutput(gpu(), [n]);
    const call = dropoutForward({
      x: upload(gpu(), xHost, [n]),
      step: stepTensor(9),
      y: y.tensor,
      ...hyper,
    });
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, y.tensor);
    const want = new Float32Array(n);
    dropoutForwardCpu({ x: xHost, step: [9], y: want, ...hyper });
    expectAllClose(got, want, exact);
    await y.check();
  });

  it('refuses bad rates, seeds, step counters and sizes', () => {
    const [x, y, step] = [upload(gpu(), [1, 2], [2]), upload(gpu(), [0, 0], [2]), stepTensor(0)];
    const ok = { x, step, y, rate: 0.5, seed: 1, layer: 0 };
    const bad = (o: Partial<typeof ok>) => () => dropoutForward({ ...ok, ...o });
    expect(bad({})).not.toThrow();
    expect(bad({ rate: 1 })).toThrow(/rate = 1, expected a probability in \[0, 1\)/);
    expect(bad({ rate: -0.1 })).toThrow(ShadergradError);
    expect(bad({ rate: NaN })).toThrow(ShadergradError);
    expect(bad({ seed: 1.5 })).toThrow(/seed = 1.5, expected a u32/);
    expect(bad({ layer: -1 })).toThrow(/layer = -1/);
    expect(bad({ step: x })).toThrow(/step must be the u32 \[1\] step counter, got f32 \[2\]/);
    expect(bad({ y: upload(gpu(), [0], [1]) })).toThrow(/tensors of 2 and 1 elements/);
  });
});

describe('dropout in a training plan', () => {
  const [batch, rate] = [5, 0.4];
  const build = (b: number) => {
    const g = new Graph();
    const x = g.flatten(g.input('images', [b, 1, 4, 4]));
    const h = g.dense(x, { name: 'fc1', units: 32, activation: 'relu' });
    const d = g.dropout(h, rate, 'drop');
    g.softmaxCrossEntropy(g.dense(d, { name: 'fc2', units: 3 }), g.labels('labels', b));
    return { graph: g, h, d };
  };
  // GPU and CPU float32 matmuls sum in other orders: ~1e-7 relative, as in the golden test.
  const tol = { atol: 1e-5, rtol: 1e-3 };

  it('matches the CPU reference for two steps (new masks each step), and is skipped in eval', async () => {
    const { graph, h, d } = build(batch);
    const trainer = Trainer.create(gpu(), (b) => build(b).graph, {
      batchSize: batch,
      optimizer: { kind: 'sgd', lr: 0.1 },
      seed: 4,
      keepIntermediates: true,
    });
    const params = new Map<string, Float32Array>();
    for (const p of graph.parameters()) params.set(p.name, await trainer.store.read(p.name));
    const state = { params, optimizerState: new Map(), step: 0 };
    const images = randomFloats(batch * 16, 8, -1, 1);
    const labels = randomInts(batch, 9, 3);
    const plan = await trainer.plan('train', batch);
    const seen: Float32Array[] = [];
    for (const step of [0, 1]) {
      const loss = await trainer.trainStep(images, labels);
      const ref = referenceTrainStep(graph, state, { images, labels }, { kind: 'sgd', lr: 0.1 });
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5);
      // In the plan: the dropout output is exactly the GPU's own hidden layer times the mask.
      const [gotH, gotD] = [await read(plan, h), await read(plan, d)];
      const want = new Float32Array(gotD.length);
      dropoutForwardCpu({ x: gotH, step: [step], y: want, rate, ...attrs(graph, d) });
      expectAllClose(gotD, want, exact, `dropout output, step ${step}`);
      seen.push(gotD);
      // dX = dY·mask/(1-p) feeds fc1's backward: dL/dh against the reference's
      expectAllClose(await read(plan, h, 'grad'), get(ref.nodeGrads, h), tol, 'dL/dh');
      for (const name of ['fc1.weight', 'fc1.bias', 'fc2.weight'])
        expectAllClose(await trainer.store.read(name), state.params.get(name) ?? [], tol, name);
    }
    expect(seen[0]?.some((v, i) => (v === 0) !== (seen[1]?.[i] === 0))).toBe(true);

    const evalPlan = await trainer.plan('eval', batch);
    expect(evalPlan.prepared.some((p) => p.call.label.startsWith('dropout.'))).toBe(false);
    // an alias of its input, like flatten: no tensor of its own, unlike in the training plan
    expect(evalPlan.tensorOf(d)).toBeUndefined();
    expect(plan.tensorOf(d)).toBeDefined();
    await trainer.predict(images, batch);
    const { values } = referenceForward(graph, state.params, { images, labels }); // evaluation
    const logits = get(values, graph.lossNode().inputs[0] ?? -1);
    const gotLogits = await readFloat32(gpu(), evalPlan.outputs.logits);
    expectAllClose(gotLogits, logits, tol, 'eval logits (dropout off)');
    trainer.destroy();
  });

  it('is built from a model config layer', () => {
    const model = defaultTrainConfig().model;
    const layers = [...model.layers.slice(0, -1), { type: 'dropout' as const, rate: 0.25 }];
    const g = buildGraph({ ...model, layers: [...layers, ...model.layers.slice(-1)] }, 2);
    const drop = g.nodes.find((n) => n.op === 'dropout');
    expect(drop?.attrs).toMatchObject({ rate: 0.25 });
    const g2 = new Graph();
    expect(() => g2.dropout(g2.input('x', [1, 2]), 1, 'drop')).toThrow(/drop: rate = 1/);
  });
});

async function read(plan: StepPlan, id: number, what?: 'grad'): Promise<Float32Array> {
  const t = plan.tensorOf(id, what);
  if (!t) throw new Error(`no ${what ?? 'value'} tensor for node ${id}`);
  return readFloat32(gpu(), t);
}

function get<V>(m: ReadonlyMap<number, V>, id: number): V {
  const v = m.get(id);
  if (v === undefined) throw new Error(`missing node ${id}`);
  return v;
}

function attrs(graph: Graph, id: number): { seed: number; layer: number } {
  const a = graph.get(id).attrs as { seed: number; layer: number };
  return { seed: a.seed, layer: a.layer };
}
