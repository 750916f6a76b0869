/**
 * Soak: thousands of training steps of one model, watching for leaks. Epoch after epoch it trains
 * on a GPU dataset (snapshots on, an evaluation after each epoch, as the CLI runs), and every
 * `every` steps, at the end of an epoch, it samples the device's live buffers and bytes (counted
 * by the device wrapper, src/gpu/memory.ts) and the JS heap right after a full GC.
 *
 * Flat means: after the first epoch (the warm-up that compiles plans and makes the staging
 * buffers) the live buffer count and bytes never change, and the heap of the last quarter of the
 * samples exceeds that of the first quarter by less than `heapSlackBytes` (medians of each).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gpu } from '../src/gpu/device';
import type { Dataset } from '../src/data/datasets';
import { defaultTrainConfig, type ModelConfig, type TrainConfig } from '../src/models/config';
import { datasetToGpu } from '../src/models/fit';
import { createTrainer } from '../src/models/network';

export interface SoakOptions {
  model: ModelConfig;
  steps: number;
  /** Sample every this many steps (at the first epoch end past each multiple). */
  every: number;
  batch: number;
  snapshotEvery: number;
  heapSlackBytes: number;
}

export interface SoakSample {
  step: number;
  liveBuffers: number;
  liveBytes: number;
  /** Destroyed, not yet given back by the driver: not a leak, shown for the record. */
  pendingBytes: number;
  heapBytes: number;
  rssBytes: number;
  seconds: number;
}

export interface SoakResult {
  steps: number;
  stepsPerSecond: number;
  samples: SoakSample[];
  buffersFlat: boolean;
  heapGrowthBytes: number;
  heapFlat: boolean;
  flat: boolean;
}

/** A two-layer MLP on MNIST: 784 -> hidden ReLU -> 10. */
export function mlp(hidden: number): ModelConfig {
  return {
    input: { channels: 1, height: 28, width: 28 },
    classes: 10,
    layers: [
      { type: 'dense', units: hidden, activation: 'relu' },
      { type: 'dense', units: 10, activation: 'none' },
    ],
    loss: 'softmaxCrossEntropy',
  };
}

/** A full garbage collection, exposed at run time so `npm run` needs no node flag. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function runSoak(
  gpu: Gpu,
  sets: { train: Dataset; test: Dataset },
  o: SoakOptions,
  onSample?: (s: SoakSample) => void,
): Promise<SoakResult> {
  const config: TrainConfig = {
    ...defaultTrainConfig(),
    model: o.model,
    batchSize: o.batch,
    snapshotEvery: o.snapshotEvery,
  };
  const trainer = createTrainer(gpu, config);
  const train = datasetToGpu(gpu, sets.train);
  const test = datasetToGpu(gpu, sets.test);
  const perEpoch = Math.floor(sets.train.count / o.batch);
  const samples: SoakSample[] = [];
  const started = performance.now();
  let done = 0;
  try {
    for (let epoch = 1; done < o.steps; epoch++) {
      await trainer.trainEpoch(train, epoch);
      await trainer.evaluate(test);
      done += perEpoch;
      if (epoch > 1 && Math.floor(done / o.every) === Math.floor((done - perEpoch) / o.every))
        continue;
      collectGarbage();
      const m = gpu.memory.stats();
      const sample = {
        step: done,
        liveBuffers: m.liveBuffers,
        liveBytes: m.liveBytes,
        pendingBytes: m.pendingBytes,
        heapBytes: process.memoryUsage().heapUsed,
        rssBytes: process.memoryUsage().rss,
        seconds: (performance.now() - started) / 1000,
      };
      samples.push(sample);
      onSample?.(sample);
    }
  } finally {
    trainer.destroy();
    for (const d of [train, test]) [d.images, d.labels, d.perm].forEach((t) => t.buffer.destroy());
  }
  return judge(samples, done, (performance.now() - started) / 1000, o.heapSlackBytes);
}

function judge(samples: SoakSample[], steps: number, seconds: number, slack: number): SoakResult {
  const first = samples[0];
  const buffersFlat = samples.every(
    (s) => s.liveBuffers === first?.liveBuffers && s.liveBytes === first.liveBytes,
  );
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const heap = samples.map((s) => s.heapBytes);
  const heapGrowthBytes = median(heap.slice(-quarter)) - median(heap.slice(0, quarter));
  const heapFlat = heapGrowthBytes < slack;
  return {
    steps,
    stepsPerSecond: steps / seconds,
    samples,
    buffersFlat,
    heapGrowthBytes,
    heapFlat,
    flat: buffersFlat && heapFlat && samples.length >= 2,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}
