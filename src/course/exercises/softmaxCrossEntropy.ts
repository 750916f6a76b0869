/**
 * Exercise 7, fused softmax cross-entropy: per row n of logits [N, K] with label y_n,
 * loss[n] = logsumexp(logits[n]) - logits[n, y_n] and dLogits[n] = (softmax(logits[n]) -
 * onehot(y_n)) / N, the gradient of the batch-mean loss (torch's CrossEntropyLoss). Logits of
 * ±1e4 fail a kernel that forgets to subtract the row maximum. Tolerances: the loss to float32
 * rounding of the row's largest logit (logsumexp - logit cancels), the gradient to 1e-6.
 */
import { randomFloats, randomInts } from '../../base/random';
import { defineParams } from '../../gpu/uniforms';
import {
  softmaxCrossEntropyForwardBackward,
  softmaxCrossEntropyForwardBackwardCpu,
} from '../../kernels/index';
import type { Exercise, ExerciseCase } from '../exercise';
import { along, at, input, libraryRun, output } from './build';

const params = defineParams('Params', { N: 'u32', K: 'u32' });
const WORKGROUP = 64;

function sceCase(N: number, K: number, scale: number): ExerciseCase {
  const logits = randomFloats(N * K, N * 53 + K, -scale, scale);
  const labels = randomInts(N, N + K, K);
  const loss = new Float32Array(N);
  const dLogits = new Float32Array(N * K);
  softmaxCrossEntropyForwardBackwardCpu({ logits, labels, loss, dLogits, N, K });
  const largest = logits.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  return {
    label: `N=${N} K=${K} logits up to ${scale}`,
    buffers: [
      input('logits', logits),
      input('labels', labels),
      output('dLogits', dLogits, { atol: 1e-6, rtol: 1e-5 }),
      output('loss', loss, { atol: 2 ** -20 * Math.max(1, largest), rtol: 1e-5 }),
    ],
    params: params.pack({ N, K }),
    workgroups: along(N, WORKGROUP),
  };
}

const timed = () => sceCase(4096, 1000, 4);

export const softmaxCrossEntropy: Exercise = {
  id: 'softmax-cross-entropy',
  title: 'Fused softmax cross-entropy: loss and gradient in one pass',
  entryPoint: 'softmaxCrossEntropy',
  cases: () => [
    sceCase(1, 1, 1),
    sceCase(1, 10, 3),
    sceCase(65, 10, 5),
    sceCase(7, 1000, 2),
    sceCase(33, 10, 1e4),
    sceCase(300, 3, 20),
  ],
  timing: {
    case: timed,
    // logits read, dLogits written: 8 bytes per element at the least.
    work: 8 * 4096 * 1000,
    unit: 'GB/s',
    library: (gpu, c) =>
      libraryRun(gpu, c, (t) => [
        softmaxCrossEntropyForwardBackward({
          logits: at(t, 0),
          labels: at(t, 1),
          dLogits: at(t, 2),
          loss: at(t, 3),
          N: 4096,
          K: 1000,
        }),
      ]),
  },
};
