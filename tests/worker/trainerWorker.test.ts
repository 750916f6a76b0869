/**
 * The worker protocol without a browser: serveTrainer on one end of a MessageChannel, a
 * TrainerWorker on the other, in one Node process, the GPU through Dawn. Everything crosses the
 * channel by structured clone and transfer, as between a page and a worker. A small CNN on
 * synthetic 8x8 images keeps each test to a few seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ShadergradError,
  TrainerWorker,
  WorkerError,
  createTrainer,
  defaultOptimizer,
  permutationSeed,
  seededPermutation,
  serveTrainer,
  type Gpu,
  type HostDataset,
  type TrainConfig,
  type TrainProgress,
} from '../../src/index';
import { expectAllClose } from '../helpers/allclose';
import { testGpu } from '../helpers/gpu';

const SIDE = 8;

/** Seeded noisy 8x8 images of 3 classes: class k lights the k-th band of rows more. */
function bands(count: number, seed: number): HostDataset {
  const images = new Uint8Array(count * SIDE * SIDE);
  const labels = new Uint8Array(count);
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < count; i++) {
    const k = i % 3;
    labels[i] = k;
    for (let p = 0; p < SIDE * SIDE; p++) {
      const band = Math.floor(Math.floor(p / SIDE) / 3) === k;
      images[i * SIDE * SIDE + p] = Math.floor((band ? 150 : 30) + 100 * next());
    }
  }
  return { images, labels, count, rows: SIDE, cols: SIDE };
}

const config: TrainConfig = {
  model: {
    input: { channels: 1, height: SIDE, width: SIDE },
    classes: 3,
    layers: [
      { type: 'conv2d', features: 4, kernel: 3, stride: 1, padding: 'same', activation: 'relu' },
      { type: 'maxPool', kernel: 2, stride: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 3, activation: 'none' },
    ],
    loss: 'softmaxCrossEntropy',
  },
  optimizer: { ...defaultOptimizer('adam'), lr: 0.01 },
  batchSize: 16,
  epochs: 1,
  seed: 7,
  dataset: 'mnist',
  snapshotEvery: 0,
  limit: 96, // 6 steps per epoch
};

let gpu: Gpu;
let client: TrainerWorker;
const train = bands(120, 1);
const test = bands(50, 2);
const probe = Float32Array.from(test.images.subarray(0, 4 * SIDE * SIDE), (v) => v / 255);

beforeAll(async () => {
  gpu = await testGpu();
  const { port1, port2 } = new MessageChannel();
  // The worker's device is the test's device, so both trainers run the same kernels.
  serveTrainer(port1, { device: { device: gpu.device } });
  client = new TrainerWorker(port2);
});

afterAll(async () => {
  await client?.destroy();
  gpu?.destroy();
});

/** The same run on this thread: a Trainer fed the same host batches in the same order. */
async function mainThreadPredictions(steps: number): Promise<Float32Array> {
  const trainer = createTrainer(gpu, config);
  const B = config.batchSize;
  const count = config.limit ?? train.count;
  const perEpoch = Math.floor(count / B);
  const images = new Float32Array(B * SIDE * SIDE);
  const labels = new Int32Array(B);
  for (let s = 0; s < steps; s++) {
    const epoch = Math.floor(s / perEpoch) + 1;
    const order = seededPermutation(count, permutationSeed(epoch, config.seed));
    for (let b = 0; b < B; b++) {
      const i = order[(s % perEpoch) * B + b] ?? 0;
      for (let p = 0; p < SIDE * SIDE; p++)
        images[b * SIDE * SIDE + p] = (train.images[i * SIDE * SIDE + p] ?? 0) / 255;
      labels[b] = train.labels[i] ?? 0;
    }
    await trainer.trainStep(images, labels);
  }
  const probs = await trainer.predict(probe, 4);
  trainer.destroy();
  return probs;
}

describe('TrainerWorker over a MessageChannel', () => {
  it('errors cross the boundary with their message', async () => {
    const e: unknown = await client.predict(probe, 4).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect(e).toBeInstanceOf(ShadergradError);
    expect((e as WorkerError).message).toContain('no network in the worker');
    expect((e as WorkerError).remoteName).toBe('ShadergradError');
  });

  it('trains with a progress message per step, and predicts as a main-thread Trainer does', async () => {
    const model = await client.create(config);
    expect(model.parameters.map((p) => p.name)).toEqual([
      'conv1.weight',
      'conv1.bias',
      'fc1.weight',
      'fc1.bias',
    ]);
    expect(model.memory.total).toBeGreaterThan(0);
    // Tuned by default, on every adapter (this network's products are all too small to time).
    expect(model.tuning?.mode).toBe('cached');
    expect(model.tuning?.products.every((p) => p.source === 'small')).toBe(true);
    await client.setData({ train: { ...train, images: train.images.slice() }, test });
    const seen: TrainProgress[] = [];
    const result = await client.train({ steps: 9 }, (p) => seen.push(p));
    expect(result).toEqual({ reason: 'done', step: 9, epoch: 2 });
    expect(seen.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen.map((p) => p.epochStep)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3]);
    expect(seen.every((p) => Number.isFinite(p.loss) && p.epochSteps === 6)).toBe(true);
    const worker = await client.predict(probe, 4);
    // Same device, kernels, seed and batches: the same float32 results, up to ulps.
    expectAllClose(worker, await mainThreadPredictions(9), { atol: 1e-6, rtol: 1e-5 });
  });

  it('pauses after the step in flight; a second train() meanwhile is refused', async () => {
    const before = (await client.train({ steps: 1 })).step;
    let paused: Promise<void> | undefined;
    const running = client.train({}, (p) => {
      if (p.step === before + 3) paused ??= client.pause();
    });
    const again: unknown = await client.train({ steps: 1 }).catch((x: unknown) => x);
    expect((again as Error).message).toContain('already training');
    const result = await running;
    await paused;
    expect(result.reason).toBe('paused');
    expect(result.step).toBeGreaterThanOrEqual(before + 3);
    expect(result.step).toBeLessThanOrEqual(before + 4);
  });

  it('evaluates, and saved weights load back to the same predictions', async () => {
    const m = await client.evaluate(30);
    expect(m.total).toBe(30);
    expect(m.counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(m.accuracy).toBeGreaterThan(0.5); // chance is 1/3; the bands are easy
    expect(m.loss).toBeGreaterThan(0);
    const bytes = await client.saveWeights({ note: 'test' });
    const first = await client.saveWeights({}, ['conv1.weight']);
    expect(first.byteLength).toBeLessThan(bytes.byteLength);
    const saved = await client.predict(probe, 4);
    await client.create(config); // fresh weights
    expect(Array.from(await client.predict(probe, 4))).not.toEqual(Array.from(saved));
    await client.loadWeights(bytes, 'saved.safetensors');
    expect(Array.from(await client.predict(probe, 4))).toEqual(Array.from(saved));
    const bad: unknown = await client
      .loadWeights(first, 'first.safetensors')
      .catch((x: unknown) => x);
    expect((bad as Error).message).toContain('first.safetensors');
  });

  it('create() says what the autotuner times, and takes the tune mode asked for', async () => {
    // fc1 is [16, 64] x [64, 4096]: 8.4 MFLOP, over the tuner's smallest product (MIN_FLOPS).
    const layers = config.model.layers.slice(0, 3); // conv, pool, flatten
    const dense = [4096, 3].map((units, i) => ({
      type: 'dense' as const,
      units,
      activation: i === 0 ? ('relu' as const) : ('none' as const),
    }));
    const wide: TrainConfig = {
      ...config,
      model: { ...config.model, layers: [...layers, ...dense] },
    };
    const lines: string[] = [];
    const tuned = await client.create(wide, { tune: 'full', onTuning: (l) => lines.push(l) });
    const timed = tuned.tuning?.products.filter((p) => p.source === 'timed') ?? [];
    expect(tuned.tuning?.mode).toBe('full');
    expect(timed.length).toBeGreaterThan(0);
    expect(lines).toHaveLength(timed.length);
    expect(lines[0]).toMatch(/^tuning 1\/\d+: matmul/);
    const off = await client.create(wide, { tune: 'off', onTuning: (l) => lines.push(l) });
    expect(off.tuning).toBeUndefined();
    expect(lines).toHaveLength(timed.length);
    const bad = { tune: 'fast' } as unknown as { tune: 'off' };
    await expect(client.create(wide, bad)).rejects.toThrow(
      "create: tune must be one of off, cached, full, got 'fast'",
    );
  });
});
