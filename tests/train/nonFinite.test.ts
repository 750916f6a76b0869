/**
 * Naming the first op that produced a non-finite value: the finder on a tiny MLP plan with an
 * infinity planted in an input or a weight, and diverging runs of a tiny CNN (SGD at lr 1e12):
 * in debug mode the error names a call of the plan, a tensor and a step, without debug mode it
 * says how to get that; either way the weights afterwards are the last good snapshot's, finite.
 */
import { describe, expect, it } from 'vitest';
import { initDevice } from '../../src/gpu/device';
import { writeTensor } from '../../src/gpu/buffers';
import { compilePlan } from '../../src/graph/executor';
import { Graph } from '../../src/graph/graph';
import { findFirstNonFinite, firstNonFinite } from '../../src/gpu/nonFinite';
import { ParameterStore } from '../../src/graph/parameterStore';
import { DivergenceError, uploadDataset, type Trainer } from '../../src/train/trainer';
import { limitDataset, type Dataset } from '../../src/data/datasets';
import { loadMnist } from '../../src/data/datasetsNode';
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';
import { createTrainer } from '../../src/models/network';
import { useTestGpu } from '../helpers/gpu';

let mnist: Dataset;
// The shared test device runs in debug mode.
const gpu = useTestGpu(async () => {
  mnist = limitDataset((await loadMnist()).train, 512); // 16 steps of 32
});

describe('firstNonFinite', () => {
  it('finds NaN and both infinities, and nothing in finite values', () => {
    const finite = Float32Array.of(0, -0, 1, -3.4e38, 3.4e38, 1e-45);
    expect(firstNonFinite(finite)).toBe(-1);
    for (const bad of [NaN, Infinity, -Infinity])
      expect(firstNonFinite(Float32Array.of(1, 2, bad, bad))).toBe(2);
  });
});

/** A 6-5-3 MLP at batch 4 (fc1 without activation, so an infinite input stays infinite). */
async function tinyPlan() {
  const g = new Graph();
  const images = g.input('images', [4, 6]);
  const labels = g.labels('labels', 4);
  const fc1 = g.dense(images, { name: 'fc1', units: 5 });
  const fc2 = g.dense(fc1, { name: 'fc2', units: 3 });
  g.softmaxCrossEntropy(fc2, labels);
  const store = new ParameterStore(gpu(), g.parameters(), { kind: 'sgd', lr: 0.1 }, 3);
  const plan = await compilePlan(gpu(), g, store, { training: true });
  const x = plan.inputs.get('images');
  const y = plan.inputs.get('labels');
  if (!x || !y) throw new Error('the plan has no images/labels inputs');
  writeTensor(gpu(), y, Int32Array.of(0, 1, 2, 0));
  const feed = (values: Float32Array): void => writeTensor(gpu(), x, values);
  const destroy = (): void => {
    plan.destroy();
    store.destroy();
  };
  return { plan, store, x, nodes: { fc1, fc2 }, feed, destroy };
}

const inputs = (): Float32Array => Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));

describe('findFirstNonFinite', () => {
  it('finds nothing in a finite step', async () => {
    const t = await tinyPlan();
    t.feed(inputs());
    expect(await findFirstNonFinite(gpu(), t.plan)).toBeUndefined();
    t.destroy();
  });

  it('names the first op reading an infinite input, not a later one', async () => {
    const t = await tinyPlan();
    const x = inputs();
    x[2 * 6 + 1] = Infinity; // sample 2, feature 1
    t.feed(x);
    const found = await findFirstNonFinite(gpu(), t.plan);
    // Every later call (fc2, the loss, the backward, the update) writes non-finite values too.
    const firstReader = t.plan.prepared.findIndex((p) =>
      p.call.tensors.some((u) => u.buffer === t.x.buffer),
    );
    expect(found?.callIndex).toBe(firstReader);
    expect(found?.call).toBe(t.plan.prepared[firstReader]?.call.label);
    expect(found?.tensor).toBe(`fc1 (node ${t.nodes.fc1}) value`);
    // Only sample 2's row of fc1's [4, 5] output can hold it.
    expect(found?.index).toBeGreaterThanOrEqual(2 * 5);
    expect(found?.index).toBeLessThan(3 * 5);
    expect(Math.abs(found?.value ?? 0)).toBe(Infinity);
    t.destroy();
  });

  it('names the first op reading an infinite weight', async () => {
    const t = await tinyPlan();
    t.feed(inputs());
    const weight = t.store.get('fc2.weight').value;
    const w = await t.store.read('fc2.weight');
    w[4] = -Infinity;
    writeTensor(gpu(), weight, w); // store.write refuses it
    const found = await findFirstNonFinite(gpu(), t.plan);
    const firstReader = t.plan.prepared.findIndex((p) =>
      p.call.tensors.some((u) => u.buffer === weight.buffer),
    );
    expect(found?.callIndex).toBe(firstReader);
    expect(found?.tensor).toBe(`fc2 (node ${t.nodes.fc2}) value`);
    t.destroy();
  });
});

/** A tiny CNN trained with SGD at lr 1e12: it diverges within a few steps. */
function diverging(overrides: Partial<TrainConfig>): TrainConfig {
  const base = defaultTrainConfig();
  return {
    ...base,
    model: cnnFromKnobs({ features: [4, 8], dense: 32 }),
    batchSize: 32,
    optimizer: { ...base.optimizer, kind: 'sgd', lr: 1e12 },
    ...overrides,
  };
}

/** Trains epoch 1, which must end with a DivergenceError; returns it and the epoch's plan. */
async function divergedEpoch(trainer: Trainer, readEvery: number) {
  const data = uploadDataset(trainer.gpu, { ...mnist, sampleShape: [1, 28, 28] });
  const error = await trainer.trainEpoch(data, 1, undefined, readEvery).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DivergenceError))
    throw new Error(`expected a divergence, got ${String(error)}`);
  return { error, plan: await trainer.plan('train', trainer.options.batchSize, data) };
}

/** Every weight is finite and bit-identical to the latest snapshot's. */
async function expectSnapshotWeights(trainer: Trainer): Promise<void> {
  const good = trainer.snapshots.latest;
  expect(good).toBeDefined();
  for (const name of trainer.store.params.keys()) {
    const w = await trainer.store.read(name);
    expect(firstNonFinite(w), `${name} finite`).toBe(-1);
    const saved = good?.params.get(name) ?? new Float32Array();
    expect(Buffer.from(w.buffer).equals(Buffer.from(saved.buffer)), name).toBe(true);
  }
  expect(trainer.position).toEqual(good?.position);
}

describe('a diverging run', () => {
  it('in debug mode names a call of the plan, its tensor and the step after the last good snapshot', async () => {
    // A snapshot every step and a read-back every 8: the steps between the first non-finite one
    // and the read-back take snapshots of NaNs, which must never become the latest.
    const trainer = createTrainer(gpu(), diverging({ snapshotEvery: 1 }));
    const { error, plan } = await divergedEpoch(trainer, 8);
    const m =
      /^training loss at step (\d+) is (?:NaN|-?Infinity): training diverged \(lower the learning rate\?\); first non-finite value: (.+) wrote (NaN|-?Infinity) into (.+)\[\d+\] at step (\d+); the weights are back to the last good snapshot \(epoch 1, after step (\d+)\)$/.exec(
        error.message,
      );
    expect(m, error.message).not.toBeNull();
    const [, failed, call, , tensor, step, after] = m ?? [];
    expect(error.step).toBe(Number(failed));
    expect(Number(step)).toBeLessThanOrEqual(Number(failed));
    // With a snapshot after every step, the last good one is the step before the first bad one.
    expect(Number(after)).toBe(Number(step) - 1);
    expect(trainer.snapshots.latest?.position.batch).toBe(Number(after));
    expect(plan.prepared.map((p) => p.call.label)).toContain(call);
    expect(plan.tensorLabels.flat()).toContain(tensor);
    await expectSnapshotWeights(trainer);
    trainer.destroy();
  });

  it('without debug mode says how to find the op, and restores the weights', async () => {
    const plain = await initDevice({ debug: false });
    const trainer = createTrainer(plain, diverging({ snapshotEvery: 4 }));
    const { error } = await divergedEpoch(trainer, 4);
    expect(error.message).toMatch(
      /^training loss at step \d+ is (NaN|-?Infinity): training diverged \(lower the learning rate\?\) \(set SHADERGRAD_DEBUG=1 to find the first op that produced it\); the weights are back to the last good snapshot \(epoch 1, after step \d+\)$/,
    );
    await expectSnapshotWeights(trainer);
    trainer.destroy();
    plain.destroy();
  });

  it('with snapshots off says there is nothing to go back to or replay', async () => {
    const trainer = createTrainer(gpu(), diverging({ snapshotEvery: 0 }));
    const { error } = await divergedEpoch(trainer, 4);
    expect(error.message).toMatch(
      /training diverged \(lower the learning rate\?\); the weights hold the diverged values: no snapshot to go back to \(snapshots are off\), and without one the first op cannot be replayed$/,
    );
    trainer.destroy();
  });

  it('a snapshot of non-finite weights is refused with the parameter named', async () => {
    const trainer = createTrainer(gpu(), diverging({ snapshotEvery: 4 }));
    const w = await trainer.store.read('fc1.weight');
    w[7] = NaN;
    writeTensor(gpu(), trainer.store.get('fc1.weight').value, w);
    await expect(trainer.snapshot()).rejects.toThrow(
      /^snapshot at step 0: fc1\.weight\[7\] = NaN: the run's state is no longer finite/,
    );
    expect(trainer.snapshots.latest).toBeUndefined();
    trainer.destroy();
  });
});
