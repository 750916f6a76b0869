/**
 * Training a model config on a dataset split in one call: upload both splits, then per epoch one
 * pass over the (limited) training set and an evaluation on the (limited) test set. It is the
 * CLI's loop without files or a progress bar, for scripts, tutorials and notebooks.
 */
import { ShadergradError, uploadDataset, type EpochProgress, type Gpu } from '../core';
import type { GpuDataset, Trainer } from '../core';
import { imageShape, limitDataset, type Dataset, type DatasetSplit } from '../data/datasets';
import type { TrainConfig } from './config';
import { validateModel } from './config';
import { createTrainer, type NetworkOptions } from './network';

/** One epoch's numbers, the same fields as a line of the CLI's metrics.jsonl. */
export interface EpochReport {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  samplesPerS: number;
  seconds: number;
}

export interface TrainModelOptions extends NetworkOptions {
  /** Evaluate on the first `testLimit` test images only (default: all of them). */
  testLimit?: number;
  /** Called every few steps with the running training loss. */
  onProgress?: (p: EpochProgress & { epoch: number }) => void;
  /** Called after each epoch's evaluation. */
  onEpoch?: (r: EpochReport) => void;
}

/** A trained model: its trainer (parameters on the GPU) and the datasets it used. */
export interface TrainedModel {
  readonly trainer: Trainer;
  readonly train: GpuDataset;
  readonly test: GpuDataset;
  readonly epochs: readonly EpochReport[];
  /** The last epoch's report. */
  readonly final: EpochReport;
  /** Frees the trainer's and the datasets' GPU buffers. */
  destroy(): void;
}

/**
 * A dataset on the GPU as bytes, each sample [channels, rows, cols] (channels 1 when absent): the
 * one way the library, the CLI and the benchmarks upload one. Only the pixels, labels, geometry
 * and names are read, so a bare `{ images, labels, count, rows, cols }` will do. The upload keeps
 * the source (or name) so that a model whose input differs names the file. The caller owns the
 * buffers; upload again to a new device after a device loss.
 */
export function datasetToGpu(
  gpu: Gpu,
  d: Pick<Dataset, 'images' | 'labels' | 'count' | 'rows' | 'cols'> &
    Partial<Pick<Dataset, 'channels' | 'name' | 'source'>>,
): GpuDataset {
  return uploadDataset(gpu, {
    images: d.images,
    labels: d.labels,
    count: d.count,
    sampleShape: imageShape(d),
    name: d.source ?? d.name,
  });
}

/**
 * Trains `config.model` with `config.optimizer`, batch size, seed and epochs on the first
 * `config.limit` training images of `data` (all without a limit), evaluating after each epoch.
 * The caller owns the result: call `destroy()` when done with it.
 */
export async function trainModel(
  gpu: Gpu,
  config: TrainConfig,
  data: DatasetSplit,
  options: TrainModelOptions = {},
): Promise<TrainedModel> {
  validateModel(config.model);
  if (!Number.isInteger(config.epochs) || config.epochs < 1)
    throw new ShadergradError(`epochs: expected a whole number >= 1, got ${config.epochs}`);
  const { testLimit, onProgress, onEpoch, ...network } = options;
  const train = datasetToGpu(gpu, limitDataset(data.train, config.limit ?? data.train.count));
  const test = datasetToGpu(gpu, limitDataset(data.test, testLimit ?? data.test.count));
  const trainer = createTrainer(gpu, config, network);
  const destroy = (): void => {
    trainer.destroy();
    for (const d of [train, test]) for (const t of [d.images, d.labels, d.perm]) t.buffer.destroy();
  };
  const epochs: EpochReport[] = [];
  try {
    await trainer.prepare(train, test);
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const r = await trainer.trainEpoch(train, epoch, (p) => onProgress?.({ ...p, epoch }));
      const t = await trainer.evaluate(test);
      const report = {
        epoch,
        trainLoss: r.loss,
        trainAccuracy: r.accuracy,
        testLoss: t.loss,
        testAccuracy: t.accuracy,
        samplesPerS: r.samples / r.seconds,
        seconds: r.seconds,
      };
      epochs.push(report);
      onEpoch?.(report);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  const final = epochs.at(-1);
  if (!final) throw new ShadergradError('trainModel: no epoch ran');
  return { trainer, train, test, epochs, final, destroy };
}
