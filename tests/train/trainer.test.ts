/**
 * The trainer: determinism, learning on real MNIST, and divergence. What the compiled step itself
 * promises (memory planning, one submit, no buffers per step, refusals) is tests/graph/executor.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { uploadDataset } from '../../src/train/trainer';
import { limitDataset } from '../../src/data/datasets';
import { loadMnist } from '../../src/data/datasetsNode';
import { defaultTrainConfig } from '../../src/models/config';
import { buildGraph, createTrainer } from '../../src/models/network';
import { smallConfig } from '../helpers/configs';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('a training step', () => {
  it('is deterministic: the same seed gives bit-identical weights', async () => {
    const mnist = await loadMnist();
    const data = limitDataset(mnist.train, 256);
    const runOnce = async (): Promise<Float32Array> => {
      const trainer = createTrainer(gpu(), smallConfig({ seed: 7 }));
      const gpuData = uploadDataset(gpu(), {
        images: data.images,
        labels: data.labels,
        count: data.count,
        sampleShape: [1, 28, 28],
      });
      await trainer.trainEpoch(gpuData, 1);
      const w = await trainer.store.read('fc1.weight');
      trainer.destroy();
      return w;
    };
    const [a, b] = [await runOnce(), await runOnce()];
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
});

describe('learning real MNIST', () => {
  it('a short run on a subset lowers the loss and beats chance by far', async () => {
    const mnist = await loadMnist();
    const train = limitDataset(mnist.train, 2048);
    const test = limitDataset(mnist.test, 500);
    // lr 3e-3: a short run on a small model needs a larger step than the default 1e-3 to get far.
    const config = smallConfig();
    const trainer = createTrainer(gpu(), {
      ...config,
      optimizer: { ...config.optimizer, lr: 3e-3 },
    });
    const up = (d: typeof train) =>
      uploadDataset(gpu(), {
        images: d.images,
        labels: d.labels,
        count: d.count,
        sampleShape: [1, 28, 28],
      });
    const trainGpu = up(train);
    const before = await trainer.evaluate(up(test));
    // Progress reports the running mean; turn it into the mean of each 8-step window.
    const running: { step: number; loss: number }[] = [];
    const epoch = await trainer.trainEpoch(
      trainGpu,
      1,
      (p) => running.push({ step: p.step, loss: p.loss }),
      8,
    );
    const windows = running.map((r, i) => {
      const prev = running[i - 1] ?? { step: 0, loss: 0 };
      return (r.loss * r.step - prev.loss * prev.step) / (r.step - prev.step);
    });
    const after = await trainer.evaluate(up(test));
    console.log(
      `8-step window losses: ${windows.map((w) => w.toFixed(3)).join(' ')}; test accuracy ${before.accuracy} -> ${after.accuracy}`,
    );
    expect(before.accuracy).toBeLessThan(0.3);
    expect(windows).toHaveLength(8);
    expect(windows[windows.length - 1]).toBeLessThan((windows[0] ?? 0) * 0.6);
    expect(epoch.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(0.75); // 0.82 measured on lavapipe; chance is 0.1
    // Another dataset of the same size gets a plan of its own (bound to its own buffers): with
    // every label moved one class on, the trained model must score far lower on it.
    const shifted = up({ ...test, labels: test.labels.map((l) => (l + 1) % 10) });
    expect((await trainer.evaluate(shifted)).accuracy).toBeLessThan(after.accuracy - 0.5);
  });

  it('graph shapes follow the config, and bad models fail with the layer named', () => {
    const g = buildGraph(defaultTrainConfig().model, 2);
    expect(g.parameters().map((p) => `${p.name}[${p.shape.join(',')}]`)).toEqual([
      'conv1.weight[32,1,5,5]',
      'conv1.bias[32]',
      'conv2.weight[64,32,5,5]',
      'conv2.bias[64]',
      'fc1.weight[1024,3136]',
      'fc1.bias[1024]',
      'fc2.weight[10,1024]',
      'fc2.bias[10]',
    ]);
  });
});

describe('divergence', () => {
  it('a non-finite loss stops the epoch with the step and a hint', async () => {
    const mnist = await loadMnist();
    const data = limitDataset(mnist.train, 512);
    const config = smallConfig();
    const trainer = createTrainer(gpu(), {
      ...config,
      optimizer: { ...config.optimizer, kind: 'sgd', lr: 1e12 },
    });
    const gpuData = uploadDataset(gpu(), {
      images: data.images,
      labels: data.labels,
      count: data.count,
      sampleShape: [1, 28, 28],
    });
    await expect(trainer.trainEpoch(gpuData, 1, undefined, 2)).rejects.toThrow(
      /training loss at step \d+ is (NaN|Infinity): training diverged \(lower the learning rate\?\)/,
    );
    trainer.destroy();
  });
});
