// loadPredictor: a model file predicted on the GPU with weights only (no gradients, no optimizer
// state), giving a Trainer's numbers, and refusing bad files and inputs by name.
import { describe, expect, it } from 'vitest';
import { randomFloats } from '../../src/base/random';
import { ShadergradError } from '../../src/base/errors';
import { compilePlan } from '../../src/graph/executor';
import { ParameterStore } from '../../src/graph/parameterStore';
import { uploadDataset } from '../../src/train/trainer';
import { defaultOptimizer, type TrainConfig } from '../../src/models/config';
import { buildGraph, createTrainer } from '../../src/models/network';
import { configMetadata, modelBytes } from '../../src/models/stateDict';
import { loadPredictor, type Predictor } from '../../src/models/predictor';
import { readSafetensors, writeSafetensors } from '../../src/formats/safetensors';
import type { Trainer } from '../../src/train/trainer';
import { useTestGpu } from '../helpers/gpu';

/** A conv, a pool and two dense layers on 1x6x6 images, 3 classes: every op a CNN has. */
const config: TrainConfig = {
  model: {
    input: { channels: 1, height: 6, width: 6 },
    classes: 3,
    layers: [
      { type: 'conv2d', features: 4, kernel: 3, stride: 1, padding: 'same', activation: 'relu' },
      { type: 'maxPool', kernel: 2, stride: 2 },
      { type: 'dense', units: 8, activation: 'relu' },
      { type: 'dense', units: 3, activation: 'none' },
    ],
    loss: 'softmaxCrossEntropy',
  },
  optimizer: { ...defaultOptimizer('adam'), lr: 0.05 },
  batchSize: 4,
  epochs: 1,
  seed: 5,
  dataset: 'mnist',
  snapshotEvery: 0,
};
const PIXELS = 36;
const N = 7;
const images = randomFloats(N * PIXELS, 11, 0, 1);

let trainer: Trainer;
let bytes: Uint8Array;
const gpu = useTestGpu(async (g) => {
  trainer = createTrainer(g, config);
  // A few steps, so the weights are not the seed's (and Adam's state is not zero).
  const labels = Int32Array.from({ length: 4 }, (_, i) => i % 3);
  for (let i = 0; i < 3; i++) await trainer.trainStep(images.subarray(0, 4 * PIXELS), labels);
  bytes = await modelBytes(trainer, configMetadata(config));
});

/** The labels of every buffer created while `run` ran that is still alive after it. */
async function newBuffers(
  run: () => Promise<unknown>,
): Promise<{ labels: string[]; bytes: number }> {
  const before = gpu().memory.liveSet();
  const liveBefore = gpu().memory.stats().liveBytes;
  await run();
  const fresh = [...gpu().memory.liveSet()].filter((b) => !before.has(b));
  return { labels: fresh.map((b) => b.label), bytes: gpu().memory.stats().liveBytes - liveBefore };
}

describe('Predictor', () => {
  it("predicts bit for bit what the Trainer predicts, from the file's own config", async () => {
    // Same graph, same kernels and matmul variant, same weights, same host softmax: equal bits.
    const expected = await trainer.predict(images, N);
    const predictor = loadPredictor(gpu(), bytes);
    expect(predictor.model).toEqual(config.model);
    expect(await predictor.predict(images, N)).toEqual(expected);
    // Bytes are divided by 255 on the CPU exactly as the GPU gather does (one f32 division).
    const pixels = Uint8Array.from({ length: N * PIXELS }, (_, i) => (i * 37) % 256);
    expect(await predictor.predict(pixels, N)).toEqual(
      await trainer.predict(
        Float32Array.from(pixels, (v) => v / 255),
        N,
      ),
    );
    const labels = await predictor.classify(images, N);
    for (let i = 0; i < N; i++) {
      const row = [...expected.subarray(3 * i, 3 * i + 3)];
      expect(labels[i]).toBe(row.indexOf(Math.max(...row)));
    }
    predictor.destroy();
  });

  it('splits a large count into batches of batchSize with the same results', async () => {
    // Every kernel computes a sample's row independently of the batch size, so chunks of 3, 3
    // and 1 give the one-plan results exactly.
    const predictor = loadPredictor(gpu(), bytes, { batchSize: 3 });
    expect(await predictor.predict(images, N)).toEqual(await trainer.predict(images, N));
    predictor.destroy();
  });

  it('evaluates a GPU dataset as the Trainer does', async () => {
    const data = uploadDataset(gpu(), {
      images: Uint8Array.from({ length: 10 * PIXELS }, (_, i) => (i * 53) % 256),
      labels: Uint8Array.from({ length: 10 }, (_, i) => i % 3),
      count: 10,
      sampleShape: [1, 6, 6],
    });
    const predictor = loadPredictor(gpu(), bytes, { config: config.model });
    expect(await predictor.evaluate(data, 4)).toEqual(await trainer.evaluate(data, 4));
    predictor.destroy();
    for (const t of [data.images, data.labels, data.perm]) t.buffer.destroy();
  });

  it('allocates no gradient or optimizer buffer, and less than a Trainer', async () => {
    let predictor: Predictor | undefined;
    const loaded = await newBuffers(async () => {
      predictor = loadPredictor(gpu(), bytes);
      await predictor.predict(images, N);
    });
    if (!predictor) throw new Error('no predictor');
    const plan = await predictor.plan(N);
    expect(plan.memory).toMatchObject({ gradients: 0, optimizerState: 0 });
    expect(plan.memory.parameters).toBe(trainer.store.bytes().parameters);
    expect(predictor.store.bytes()).toMatchObject({ gradients: 0, optimizerState: 0 });
    // Buffers named after gradients (grad:<node>, <param>.grad), optimizer state or the step.
    const trainingOnly = /grad|state\d|optimizer/;
    expect(loaded.labels.filter((l) => trainingOnly.test(l))).toEqual([]);
    expect(plan.tensorLabels.flat().filter((l) => trainingOnly.test(l))).toEqual([]);
    // The same model in a fresh Trainer, with only its evaluation plan of N compiled.
    let other: Trainer | undefined;
    const trained = await newBuffers(async () => {
      other = createTrainer(gpu(), config);
      await other.predict(images, N);
    });
    other?.destroy();
    expect(trained.labels.filter((l) => trainingOnly.test(l)).length).toBeGreaterThan(0);
    // The difference: gradients and Adam's two moments (3x the parameters), the step counter,
    // and the uniforms of the metric calls (loss, accuracy) the Trainer's plan adds to a predict.
    const extra = trained.bytes - loaded.bytes;
    expect(extra).toBeGreaterThanOrEqual(3 * plan.memory.parameters + 4);
    expect(extra).toBeLessThanOrEqual(3 * plan.memory.parameters + 4 + 64);
    predictor.destroy();
  });
});

describe('an inference-only parameter store', () => {
  it('refuses a training plan and gradient reads with a clear error', async () => {
    const graph = buildGraph(config.model, 2);
    const store = new ParameterStore(gpu(), graph.parameters(), undefined, 1);
    await expect(compilePlan(gpu(), graph, store, { training: true })).rejects.toThrow(
      /training plan needs an optimizer: this parameter store has none/,
    );
    await expect(store.read('fc1.weight', 'grad')).rejects.toThrow(
      /no optimizer \(inference only\), so it holds no gradient for 'fc1.weight'/,
    );
    expect(() => store.step).toThrow(ShadergradError);
    store.destroy();
  });
});

describe('loadPredictor and predict refuse', () => {
  it('a file without a config when none is given, naming the way out', () => {
    const bare = writeSafetensors(readSafetensors(bytes, 'x').tensors, {});
    expect(() => loadPredictor(gpu(), bare, { source: 'bare.safetensors' })).toThrow(
      /bare\.safetensors: no shadergrad\.config metadata and no config given/,
    );
  });

  it('weights whose shapes do not match the config, naming the tensor', () => {
    const wider = structuredClone(config.model);
    wider.layers[2] = { type: 'dense', units: 9, activation: 'relu' };
    const live = gpu().memory.stats().liveBuffers;
    expect(() => loadPredictor(gpu(), bytes, { config: wider })).toThrow(
      /tensor "fc1\.weight" has shape \[8, 36\], expected \[9, 36\]/,
    );
    // Nothing the failed load allocated stays behind.
    expect(gpu().memory.stats().liveBuffers).toBe(live);
  });

  it('a bad batch size, image count, size or value', async () => {
    expect(() => loadPredictor(gpu(), bytes, { batchSize: 0 })).toThrow(
      /batchSize: expected a whole number >= 1, got 0/,
    );
    const predictor = loadPredictor(gpu(), bytes);
    await expect(predictor.predict(images, N + 1)).rejects.toThrow(
      /predict: 8 images of \[1, 6, 6\] are 288 values, got 252/,
    );
    await expect(predictor.predict(images, 0)).rejects.toThrow(/predict count: expected a whole/);
    const nan = images.slice();
    nan[40] = NaN;
    await expect(predictor.predict(nan, N)).rejects.toThrow(
      /predict: value 40 \(image 1\) is NaN, not a finite number/,
    );
    predictor.destroy();
  });
});
