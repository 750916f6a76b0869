/**
 * Evaluation on host test images in the worker: class probabilities in chunks of up to 100
 * images (one eval plan per chunk size), then a confusion matrix, the accuracy and the mean
 * cross-entropy -ln p(label), all on the CPU from the probabilities.
 */
import type { Trainer } from '../core';
import { fillBatch } from './hostLoop';
import type { Evaluation, HostDataset } from './protocol';

const CHUNK = 100;

/** Evaluates the first `count` images of `test` (all of them by default). */
export async function evaluateHost(
  trainer: Trainer,
  test: HostDataset,
  classes: number,
  crossEntropy: boolean,
  count = test.count,
): Promise<Evaluation> {
  const n = Math.min(count, test.count);
  const chunk = Math.max(1, Math.min(CHUNK, n));
  const images = new Float32Array(chunk * test.rows * test.cols);
  const labels = new Int32Array(chunk);
  const counts = new Int32Array(classes * classes);
  let lossSum = 0;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    images.fill(0); // a short last chunk is padded with blank images, ignored below
    const indices = Array.from({ length: size }, (_, i) => start + i);
    fillBatch(test, indices, images, labels);
    const probs = await trainer.predict(images, chunk);
    for (let i = 0; i < size; i++) {
      const row = probs.subarray(i * classes, (i + 1) * classes);
      const truth = labels[i] ?? 0;
      const predicted = row.indexOf(Math.max(...row));
      const cell = truth * classes + predicted;
      counts[cell] = (counts[cell] ?? 0) + 1;
      lossSum -= Math.log(row[truth] ?? 0);
    }
  }
  let right = 0;
  for (let k = 0; k < classes; k++) right += counts[k * classes + k] ?? 0;
  return {
    counts,
    classes,
    total: n,
    accuracy: n > 0 ? right / n : 0,
    loss: crossEntropy && n > 0 ? lossSum / n : NaN,
  };
}
