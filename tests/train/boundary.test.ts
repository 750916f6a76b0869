// The API boundary: labels that are not a class of the model, objects used after destroy(), and
// tensors used through another device are refused with one clear ShadergradError, before any
// weight changes (a NaN loss would otherwise land in the weights).
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { initDevice } from '../../src/gpu/device';
import { createTensor, readTensor, writeTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import { activationForward } from '../../src/kernels/activation';
import { uploadDataset } from '../../src/train/trainer';
import { defaultOptimizer, type TrainConfig } from '../../src/models/config';
import { createTrainer } from '../../src/models/network';
import { configMetadata, modelBytes } from '../../src/models/stateDict';
import { loadPredictor } from '../../src/models/predictor';
import { useTestGpu } from '../helpers/gpu';

/** Two dense layers on 1x2x2 images, 3 classes: the smallest model with labels. */
const config: TrainConfig = {
  model: {
    input: { channels: 1, height: 2, width: 2 },
    classes: 3,
    layers: [
      { type: 'dense', units: 4, activation: 'relu' },
      { type: 'dense', units: 3, activation: 'none' },
    ],
    loss: 'softmaxCrossEntropy',
  },
  optimizer: { ...defaultOptimizer('adam'), lr: 0.05 },
  batchSize: 2,
  epochs: 1,
  seed: 5,
  dataset: 'mnist',
  snapshotEvery: 0,
};
const images = new Float32Array(8).fill(0.5);

const gpu = useTestGpu();

async function refusal(run: () => Promise<unknown>): Promise<string> {
  const e = await run().then(
    () => new Error('no error'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ShadergradError);
  return (e as Error).message;
}

describe('labels outside the classes', () => {
  it.each([-1, 3, 200])('label %d from the host: refused, weights untouched', async (bad) => {
    const trainer = createTrainer(gpu(), config);
    const before = await modelBytes(trainer);
    expect(await refusal(() => trainer.trainStep(images, Int32Array.of(0, bad)))).toBe(
      `input 'labels': label ${bad} at index 1 is not a class of this model (0 to 2)`,
    );
    expect(await modelBytes(trainer)).toEqual(before);
    // A good step still trains: the refusal left nothing half-written.
    expect(Number.isFinite(await trainer.trainStep(images, Int32Array.of(0, 2)))).toBe(true);
    trainer.destroy();
  });

  it('a label past the classes in an uploaded dataset: trainEpoch and evaluate refuse', async () => {
    const trainer = createTrainer(gpu(), config);
    const before = await modelBytes(trainer);
    const labels = Uint8Array.of(0, 1, 2, 200, 1, 200);
    const data = uploadDataset(gpu(), {
      images: new Uint8Array(24),
      labels,
      count: 6,
      sampleShape: [1, 2, 2],
    });
    const message = 'dataset: label 200 at index 3 is not a class of this model (0 to 2)';
    expect(await refusal(() => trainer.trainEpoch(data, 1))).toBe(message);
    expect(await refusal(() => trainer.evaluate(data))).toBe(message);
    expect(await modelBytes(trainer)).toEqual(before);
    trainer.destroy();
  });
});

describe('after destroy()', () => {
  it('a Trainer throws from trainStep, predict and evaluate', async () => {
    const trainer = createTrainer(gpu(), config);
    const data = uploadDataset(gpu(), {
      images: new Uint8Array(8),
      labels: Uint8Array.of(0, 1),
      count: 2,
      sampleShape: [1, 2, 2],
    });
    trainer.destroy();
    trainer.destroy(); // twice is fine
    const message = 'this Trainer was destroyed (trainer.destroy())';
    expect(await refusal(() => trainer.trainStep(images, Int32Array.of(0, 1)))).toBe(message);
    expect(await refusal(() => trainer.predict(images, 2))).toBe(message);
    expect(await refusal(() => trainer.evaluate(data))).toBe(message);
  });

  it('a Predictor throws from predict, classify and evaluate', async () => {
    const trainer = createTrainer(gpu(), config);
    const predictor = loadPredictor(gpu(), await modelBytes(trainer, configMetadata(config)));
    trainer.destroy();
    expect((await predictor.predict(images, 2)).length).toBe(6);
    predictor.destroy();
    const message = 'this Predictor was destroyed (predictor.destroy())';
    expect(await refusal(() => predictor.predict(images, 2))).toBe(message);
    expect(await refusal(() => predictor.classify(images, 2))).toBe(message);
  });

  // A write to a lost or destroyed device stays a no-op (what is written there is never read).
  it('a Gpu throws from readTensor and kernel calls', async () => {
    const other = await initDevice();
    const t = createTensor(other, [4], { label: 'probe' });
    other.destroy();
    const message = /^WebGPU device lost \(destroyed\): this Gpu was destroyed/;
    expect(await refusal(() => readTensor(other, t))).toMatch(message);
    const call = activationForward({ x: t, y: t, activation: 'relu' });
    expect(await refusal(() => runCalls(other, [call]))).toMatch(message);
  });
});

describe('a tensor of another device', () => {
  it('is refused by readTensor, writeTensor and kernel calls', async () => {
    const other = await initDevice();
    try {
      const t = createTensor(other, [4], { label: 'elsewhere' });
      const y = createTensor(gpu(), [4], { label: 'here' });
      const says = (what: string): string =>
        `${what}: tensor 'elsewhere' belongs to another device than this Gpu (after a device loss, upload it again to the new one)`;
      expect(await refusal(() => readTensor(gpu(), t))).toBe(says('readTensor'));
      expect(() => writeTensor(gpu(), t, new Float32Array(4))).toThrow(says('writeTensor'));
      const call = activationForward({ x: t, y, activation: 'relu' });
      expect(await refusal(() => runCalls(gpu(), [call]))).toBe(says(call.label));
      y.buffer.destroy();
    } finally {
      other.destroy();
    }
  });
});
