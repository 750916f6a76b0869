/**
 * Training step by step on host batches, so a run can stop between any two steps: each step
 * gathers one batch from the host dataset in the epoch's seeded order (the order trainEpoch
 * uses: seededPermutation(count, permutationSeed(epoch, seed)), last partial batch dropped),
 * scales bytes to [0, 1], runs trainStep and reads back the batch's correct count.
 */
import {
  permutationSeed,
  readTensor,
  seededPermutation,
  ShadergradError,
  type Trainer,
} from '../core';
import type { HostDataset, TrainProgress } from './protocol';

/** Fills `images` [B, 1, rows, cols] (byte / 255) and `labels` [B] with samples `indices`. */
export function fillBatch(
  ds: HostDataset,
  indices: ArrayLike<number>,
  images: Float32Array,
  labels: Int32Array,
): void {
  const P = ds.rows * ds.cols;
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b] ?? 0;
    for (let p = 0; p < P; p++) images[b * P + p] = (ds.images[i * P + p] ?? 0) / 255;
    labels[b] = ds.labels[i] ?? 0;
  }
}

export class HostLoop {
  private step = 0;
  private epoch = 1;
  private cursor = 0;
  private order: Uint32Array;
  private readonly stepTimes: number[] = [];
  private readonly images: Float32Array;
  private readonly labels: Int32Array;

  constructor(
    private readonly trainer: Trainer,
    private readonly data: HostDataset,
  ) {
    const B = trainer.options.batchSize;
    if (data.count < B)
      throw new ShadergradError(
        `training set of ${data.count} samples is smaller than one batch of ${B}`,
      );
    this.images = new Float32Array(B * data.rows * data.cols);
    this.labels = new Int32Array(B);
    this.order = this.shuffle();
  }

  get steps(): number {
    return this.step;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get epochSteps(): number {
    return Math.floor(this.data.count / this.trainer.options.batchSize);
  }

  private shuffle(): Uint32Array {
    return seededPermutation(
      this.data.count,
      permutationSeed(this.epoch, this.trainer.options.seed),
    );
  }

  /** One step on the next batch; starts the next epoch (a new shuffle) when this one is done. */
  async next(): Promise<TrainProgress> {
    const B = this.trainer.options.batchSize;
    if (this.cursor + B > this.data.count) {
      this.epoch++;
      this.cursor = 0;
      this.order = this.shuffle();
    }
    fillBatch(
      this.data,
      this.order.subarray(this.cursor, this.cursor + B),
      this.images,
      this.labels,
    );
    this.cursor += B;
    const loss = await this.trainer.trainStep(this.images, this.labels);
    const [correct = 0] = await readTensor(this.trainer.gpu, this.trainer.correct);
    this.step++;
    return {
      step: this.step,
      epoch: this.epoch,
      epochStep: this.cursor / B,
      epochSteps: this.epochSteps,
      loss,
      accuracy: correct / B,
      samplesPerSecond: this.rate(B),
    };
  }

  /** Samples per second over the last ten steps. */
  private rate(B: number): number {
    const now = performance.now();
    this.stepTimes.push(now);
    if (this.stepTimes.length > 11) this.stepTimes.shift();
    const span = (now - (this.stepTimes[0] ?? now)) / 1000;
    return span > 0 ? ((this.stepTimes.length - 1) * B) / span : 0;
  }
}
