import { describe, expect, it } from 'vitest';
import { uploadTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import type { GpuTensor } from '../../src/gpu/tensor';
import { lossMean } from '../../src/kernels/reduce';
import { lossMeanCpu } from '../../src/kernels/reduce.cpu';
import {
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
} from '../../src/kernels/softmaxCrossEntropy';
import {
  softmaxCrossEntropyBackwardCpu,
  softmaxCrossEntropyForwardBackwardCpu,
  softmaxCrossEntropyForwardCpu,
} from '../../src/kernels/softmaxCrossEntropy.cpu';
import { expectAllClose, type Tolerance } from '../helpers/allclose';
import { numericalGradient, toF64 } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats, randomInts } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const eps = 2 ** -23;

// loss = (max - logit[label]) + log(sumExp). The difference rounds once (rtol). log(sumExp) is off
// by sumExp's relative error: K float32 additions of terms in (0, 1] plus a few ulp per exp and
// for the log; 4 eps per term bounds it with margin, well below a wrong index or a missing max.
const lossTol = (K: number): Tolerance => ({ atol: 4 * eps * (K + 16), rtol: 4 * eps });
// dLogits = (p - onehot) * scale / N with p = exp(x - max) / sumExp <= 1: p carries the same
// relative error as sumExp, so the absolute error is at most that bound times scale / N.
const gradTol = (K: number, N: number, scale = 1): Tolerance => ({
  atol: (4 * eps * (K + 16) * scale) / N,
  rtol: 4 * eps,
});

const gpu = useTestGpu();

function uploadLabels(labels: Int32Array): GpuTensor {
  return uploadTensor(gpu(), labels, [labels.length], { label: 'labels' });
}

describe('softmaxCrossEntropy twin', () => {
  it('matches hand-computed values', () => {
    // Row 0: logits [0, 0], label 0 -> ln 2, softmax [1/2, 1/2].
    // Row 1: logits [ln 3, 0], label 1 -> ln(3 + 1) - 0 = ln 4, softmax [3/4, 1/4].
    const logits = new Float64Array([0, 0, Math.log(3), 0]);
    const labels = new Int32Array([0, 1]);
    const loss = new Float64Array(2);
    softmaxCrossEntropyForwardCpu({ logits, labels, loss, N: 2, K: 2 });
    expectAllClose(loss, [Math.LN2, Math.log(4)], { atol: 1e-15, rtol: 0 });
    const dLogits = new Float64Array(4);
    softmaxCrossEntropyBackwardCpu({ logits, labels, dLogits, N: 2, K: 2 });
    // (p - onehot) / N with N = 2
    expectAllClose(dLogits, [(0.5 - 1) / 2, 0.5 / 2, 0.75 / 2, (0.25 - 1) / 2], {
      atol: 1e-15,
      rtol: 0,
    });
  });

  it('backward equals central differences of the scaled batch mean (float64)', () => {
    const [N, K, scale] = [4, 5, 2.5];
    const logits = toF64(randomFloats(N * K, 31, -3, 3));
    const labels = randomInts(N, 32, K);
    const loss = new Float64Array(N);
    const total = new Float64Array(1);
    const meanLoss = (): number => {
      softmaxCrossEntropyForwardCpu({ logits, labels, loss, N, K });
      lossMeanCpu({ loss, total, N });
      return scale * (total[0] ?? 0);
    };
    const numeric = numericalGradient(meanLoss, logits);
    const dLogits = new Float64Array(N * K);
    softmaxCrossEntropyBackwardCpu({ logits, labels, dLogits, N, K, scale });
    expectAllClose(dLogits, numeric, { atol: 1e-8, rtol: 1e-6 });
  });

  it('leaves ignored rows out of the mean (torch ignore_index), by central differences', () => {
    const [N, K, scale] = [6, 4, 1.5];
    const logits = toF64(randomFloats(N * K, 33, -3, 3));
    const labels = new Int32Array([2, -100, 0, -100, 3, 1]);
    const loss = new Float64Array(N);
    // torch: F.cross_entropy(x, y) = the mean over the 4 rows whose label is not -100
    const meanLoss = (): number => {
      softmaxCrossEntropyForwardCpu({ logits, labels, loss, N, K, ignoreIndex: -100 });
      return (scale * loss.reduce((a, b) => a + b, 0)) / 4;
    };
    const numeric = numericalGradient(meanLoss, logits);
    const dLogits = new Float64Array(N * K);
    softmaxCrossEntropyBackwardCpu({ logits, labels, dLogits, N, K, scale, ignoreIndex: -100 });
    expectAllClose(dLogits, numeric, { atol: 1e-8, rtol: 1e-6 });
    expect([loss[1], loss[3]]).toEqual([0, 0]);
    expect(Array.from(dLogits.subarray(K, 2 * K))).toEqual([0, 0, 0, 0]);
    // without ignoreIndex, -100 is a bad label: NaN, loudly
    softmaxCrossEntropyForwardCpu({ logits, labels, loss, N, K });
    expect(Number.isNaN(loss[1])).toBe(true);
  });

  it('writes NaN for labels outside [0, K)', () => {
    const logits = new Float64Array([1, 2, 3, 4]);
    const loss = new Float64Array(2);
    const dLogits = new Float64Array(4);
    softmaxCrossEntropyForwardBackwardCpu({
      logits,
      labels: new Int32Array([2, -1]),
      loss,
      dLogits,
      N: 2,
      K: 2,
    });
    expect([...loss].map(Number.isNaN)).toEqual([true, true]);
    expect([...dLogits].every(Number.isNaN)).toBe(true);
  });
});

/** Runs forward, backward and the fused entry point and compares all three with the twin. */
async function checkAgainstTwin(
  logitsHost: Float32Array,
  labelsHost: Int32Array,
  N: number,
  K: number,
  scale = 1,
  ignoreIndex?: number,
): Promise<void> {
  const logits = upload(gpu(), logitsHost, [N, K]);
  const labels = uploadLabels(labelsHost);
  const wantLoss = new Float32Array(N);
  const wantGrad = new Float32Array(N * K);
  softmaxCrossEntropyForwardBackwardCpu({
    logits: logitsHost,
    labels: labelsHost,
    loss: wantLoss,
    dLogits: wantGrad,
    N,
    K,
    scale,
    ignoreIndex,
  });

  const loss = guardedOutput(gpu(), [N]);
  expectAllClose(
    await runAndRead(
      gpu(),
      softmaxCrossEntropyForward({ logits, labels, loss: loss.tensor, N, K, ignoreIndex }),
      loss.tensor,
    ),
    wantLoss,
    lossTol(K),
    'forward',
  );
  await loss.check();

  const dLogits = guardedOutput(gpu(), [N, K]);
  const call = softmaxCrossEntropyBackward({
    logits,
    labels,
    dLogits: dLogits.tensor,
    N,
    K,
    scale,
    ignoreIndex,
  });
  expectAllClose(
    await runAndRead(gpu(), call, dLogits.tensor),
    wantGrad,
    gradTol(K, N, scale),
    'backward',
  );
  await dLogits.check();

  const fusedLoss = guardedOutput(gpu(), [N]);
  const fusedGrad = guardedOutput(gpu(), [N, K]);
  const fused = softmaxCrossEntropyForwardBackward({
    logits,
    labels,
    dLogits: fusedGrad.tensor,
    loss: fusedLoss.tensor,
    N,
    K,
    scale,
    ignoreIndex,
  });
  expectAllClose(
    await runAndRead(gpu(), fused, fusedGrad.tensor),
    wantGrad,
    gradTol(K, N, scale),
    'fused dLogits',
  );
  expectAllClose(await runAndRead(gpu(), [], fusedLoss.tensor), wantLoss, lossTol(K), 'fused loss');
  await fusedLoss.check();
  await fusedGrad.check();
}

describe('softmaxCrossEntropy on the GPU', () => {
  const shapes = [1, 7, 65, 257].flatMap((N) => [10, 1, 3, 1000].map((K) => [N, K] as const));
  it.each(shapes)('forward, backward and fused match the twin, N = %i, K = %i', async (N, K) => {
    await checkAgainstTwin(randomFloats(N * K, N * K, -5, 5), randomInts(N, N + K, K), N, K);
  });

  it.each([
    [65, 10, -100],
    [257, 3, 1],
    [1, 5, -100],
  ])('ignores rows labelled ignoreIndex, N = %i, K = %i, ignoreIndex %i', async (N, K, ignore) => {
    // a third of the rows ignored (all of them at N = 1)
    const labels = randomInts(N, N + 7, K).map((v, n) => (n % 3 === 0 ? ignore : v));
    expect(labels.filter((v) => v === ignore).length).toBeGreaterThan(N / 3 - 1);
    await checkAgainstTwin(randomFloats(N * K, N, -5, 5), labels, N, K, 0.5, ignore);
  });

  it('applies the gradient scale', async () => {
    await checkAgainstTwin(randomFloats(7 * 10, 41, -5, 5), randomInts(7, 42, 10), 7, 10, 0.125);
  });

  it('stays finite and matches for logits of +-1e4', async () => {
    const [N, K] = [6, 4];
    // Rows mix +-1e4 with small values and with each other; labels hit the max, the min and ties.
    const logitsHost = new Float32Array([
      1e4,
      -1e4,
      0,
      1,
      -1e4,
      1e4,
      1e4 - 1,
      3,
      1e4,
      1e4,
      -1e4,
      -1e4,
      -1e4,
      -1e4,
      -1e4,
      -1e4,
      1e4,
      0,
      0,
      0,
      5,
      -1e4,
      1e4,
      2,
    ]);
    const labelsHost = new Int32Array([0, 1, 2, 3, 1, 3]);
    const wantLoss = new Float32Array(N);
    softmaxCrossEntropyForwardCpu({ logits: logitsHost, labels: labelsHost, loss: wantLoss, N, K });
    expect(wantLoss.some((v) => v > 1e4)).toBe(true); // some losses are large: -log(softmax) of a -1e4 logit
    await checkAgainstTwin(logitsHost, labelsHost, N, K);
  });

  it('writes NaN loss and a NaN gradient row for a bad label, and leaves the other rows alone', async () => {
    const [N, K] = [4, 3];
    const logitsHost = randomFloats(N * K, 51, -2, 2);
    const labelsHost = new Int32Array([1, -1, 3, 0]);
    const loss = guardedOutput(gpu(), [N]);
    const dLogits = guardedOutput(gpu(), [N, K]);
    const logits = upload(gpu(), logitsHost, [N, K]);
    await runCalls(gpu(), [
      softmaxCrossEntropyForwardBackward({
        logits,
        labels: uploadLabels(labelsHost),
        loss: loss.tensor,
        dLogits: dLogits.tensor,
        N,
        K,
      }),
    ]);
    const gotLoss = await runAndRead(gpu(), [], loss.tensor);
    const gotGrad = await runAndRead(gpu(), [], dLogits.tensor);
    expect([...gotLoss].map(Number.isNaN)).toEqual([false, true, true, false]);
    expect([...gotGrad].map(Number.isNaN)).toEqual(
      [0, 1, 2, 3].flatMap((n) => Array<boolean>(K).fill(n === 1 || n === 2)),
    );
    await loss.check();
    await dLogits.check();
  });

  it('gives the batch mean through lossMean, as F.cross_entropy does', async () => {
    const [N, K] = [65, 10];
    const logitsHost = randomFloats(N * K, 61, -4, 4);
    const labelsHost = randomInts(N, 62, K);
    const loss = guardedOutput(gpu(), [N]);
    const mean = guardedOutput(gpu(), [1]);
    const logits = upload(gpu(), logitsHost, [N, K]);
    const calls = [
      softmaxCrossEntropyForward({
        logits,
        labels: uploadLabels(labelsHost),
        loss: loss.tensor,
        N,
        K,
      }),
      lossMean({ loss: loss.tensor, total: mean.tensor, N }),
    ];
    const got = await runAndRead(gpu(), calls, mean.tensor);
    const wantLoss = new Float64Array(N);
    softmaxCrossEntropyForwardCpu({ logits: logitsHost, labels: labelsHost, loss: wantLoss, N, K });
    const want = new Float64Array(1);
    lossMeanCpu({ loss: wantLoss, total: want, N });
    // Each loss within lossTol(K); the mean of N of them, plus N float32 additions of values < 10.
    expectAllClose(got, want, { atol: lossTol(K).atol + 4 * eps * N * 10, rtol: 4 * eps });
    await mean.check();
  });

  it('refuses wrong shapes and dtypes', () => {
    const logits = upload(gpu(), new Float32Array(6), [2, 3]);
    const labels = uploadLabels(new Int32Array(2));
    const loss = upload(gpu(), new Float32Array(2), [2]);
    expect(() => softmaxCrossEntropyForward({ logits, labels, loss, N: 2, K: 4 })).toThrow(
      /logits has 6 elements/,
    );
    expect(() => softmaxCrossEntropyForward({ logits, labels: loss, loss, N: 2, K: 3 })).toThrow(
      /labels is f32, expected i32/,
    );
    expect(() =>
      softmaxCrossEntropyBackward({ logits, labels, dLogits: loss, N: 2, K: 3 }),
    ).toThrow(/dLogits has 2 elements/);
  });
});
