// trainModel: the whole train-and-evaluate loop in one call, on a tiny synthetic split.
import { describe, expect, it } from 'vitest';
import type { Dataset, DatasetSplit } from '../../src/data/datasets';
import { defaultOptimizer, type TrainConfig } from '../../src/models/config';
import { trainModel, type EpochReport } from '../../src/models/fit';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

/** 4x4 images of two classes: class 1 lights the left half, class 0 the right half. */
function halves(count: number, name: string): Dataset {
  const images = new Uint8Array(count * 16);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 16; p++) images[i * 16 + p] = p % 4 < 2 === (i % 2 === 1) ? 200 : 20;
  }
  return { name, images, labels, count, rows: 4, cols: 4, classes: 2 };
}

const split: DatasetSplit = { train: halves(96, 'train'), test: halves(40, 'test') };

function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: {
      input: { channels: 1, height: 4, width: 4 },
      classes: 2,
      layers: [{ type: 'dense', units: 2, activation: 'none' }],
      loss: 'softmaxCrossEntropy',
    },
    optimizer: { ...defaultOptimizer('adam'), lr: 0.05 },
    batchSize: 8,
    epochs: 3,
    seed: 1,
    dataset: 'mnist',
    snapshotEvery: 0,
    ...overrides,
  };
}

describe('trainModel', () => {
  it('trains on the limited split, evaluates each epoch and reports it', async () => {
    const seen: EpochReport[] = [];
    const run = await trainModel(gpu(), config({ limit: 64 }), split, {
      testLimit: 20,
      onEpoch: (r) => seen.push(r),
    });
    expect([run.train.count, run.test.count]).toEqual([64, 20]);
    expect(run.epochs.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(seen).toEqual(run.epochs);
    expect(run.final).toBe(run.epochs[2]);
    // The halves are linearly separable: a linear model gets them all within 3 epochs.
    expect(run.final.testAccuracy).toBe(1);
    expect(run.final.trainLoss).toBeLessThan(run.epochs[0]?.trainLoss ?? 0);
    run.destroy();
  });

  it('refuses a run with no epoch or a model that does not fit the classes', async () => {
    await expect(trainModel(gpu(), config({ epochs: 0 }), split)).rejects.toThrow(
      /epochs: expected a whole number >= 1, got 0/,
    );
    const wrong = config();
    wrong.model.classes = 3;
    await expect(trainModel(gpu(), wrong, split)).rejects.toThrow(/model.classes = 3/);
  });

  it('compares image shapes, not pixel counts, with the model input before step 1', async () => {
    const steps: number[] = [];
    const onProgress = (p: { step: number }): number => steps.push(p.step);
    // 2x8 images hold the 16 pixels of 4x4 ones: the count alone would train them as 4x4.
    const wide = { ...halves(96, 'train'), rows: 2, cols: 8, source: 'wide-images-idx3-ubyte' };
    const wideTest = { ...halves(40, 'test'), rows: 2, cols: 8 };
    await expect(
      trainModel(gpu(), config(), { train: wide, test: wideTest }, { onProgress }),
    ).rejects.toThrow(
      /^wide-images-idx3-ubyte: images are 1x2x8 \(channels x rows x cols\), the model's input is 1x4x4 \(channels x height x width\)$/,
    );
    // A test split of another shape is refused before the first epoch, naming both splits.
    await expect(
      trainModel(gpu(), config(), { ...split, test: wideTest }, { onProgress }),
    ).rejects.toThrow(/^train holds 1x4x4 images, test 1x2x8: both splits need one image shape$/);
    // A config input of 4x2x2 (also 16 values) does not take 1x4x4 images.
    const four = config();
    four.model.input = { channels: 4, height: 2, width: 2 };
    await expect(trainModel(gpu(), four, split, { onProgress })).rejects.toThrow(
      /^train: images are 1x4x4 .*the model's input is 4x2x2/,
    );
    expect(steps).toEqual([]);
  });
});
