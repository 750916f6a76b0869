import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { readTensor, uploadTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import type { GpuTensor } from '../../src/gpu/tensor';
import {
  accuracyArgmax,
  accuracyCount,
  accuracyParams,
  accuracyShader,
} from '../../src/kernels/accuracy';
import { accuracyArgmaxCpu, accuracyCountCpu } from '../../src/kernels/accuracy.cpu';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats, randomInts } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

const uploadInts = (data: Int32Array): GpuTensor =>
  uploadTensor(gpu(), data, [data.length], { label: 'labels' });

async function readU32(t: GpuTensor): Promise<Uint32Array> {
  return (await readTensor(gpu(), t)) as Uint32Array;
}

/** Logits with deliberate ties: values on a coarse grid, so rows often repeat their maximum. */
function tiedLogits(count: number, seed: number): Float32Array {
  return randomFloats(count, seed, 0, 4).map(Math.floor);
}

describe('accuracy twin', () => {
  it('matches hand-computed values, first maximum on ties', () => {
    // Rows: argmax 2; tie between 0 and 2 -> 0; all equal -> 0; argmax 1.
    const logits = new Float64Array([0, 1, 5, 3, 1, 3, 2, 2, 2, -1, 4, 0]);
    const predictions = new Uint32Array(4);
    accuracyArgmaxCpu({ logits, predictions, N: 4, K: 3 });
    expect([...predictions]).toEqual([2, 0, 0, 1]);
    const correct = new Uint32Array([100]);
    // Labels: right, wrong (2 ties but 0 wins), right, out of range (never right).
    accuracyCountCpu({ logits, labels: new Int32Array([2, 2, 0, 7]), correct, N: 4, K: 3 });
    expect(correct[0]).toBe(2);
    accuracyCountCpu({
      logits,
      labels: new Int32Array([2, 0, 0, 1]),
      correct,
      N: 4,
      K: 3,
      accumulate: true,
    });
    expect(correct[0]).toBe(6);
  });
});

describe('accuracy on the GPU', () => {
  const shapes = [1, 7, 65, 257, 1000].flatMap((N) => [10, 1, 3, 1000].map((K) => [N, K] as const));
  it.each(shapes)('count and argmax match the twin exactly, N = %i, K = %i', async (N, K) => {
    const logitsHost = K === 1000 ? randomFloats(N * K, N + K) : tiedLogits(N * K, N + K);
    // Labels mostly in range; about a quarter right by construction so counts are not ~N/K.
    const labelsHost = randomInts(N, N * K, K);
    const predHost = new Uint32Array(N);
    accuracyArgmaxCpu({ logits: logitsHost, predictions: predHost, N, K });
    labelsHost.forEach((_, n) => {
      if (n % 4 === 0) labelsHost[n] = predHost[n] ?? 0;
      if (n % 9 === 5) labelsHost[n] = -1;
    });
    const logits = upload(gpu(), logitsHost, [N, K]);

    const predictions = guardedOutput(gpu(), [N], 'u32');
    await runCalls(gpu(), [accuracyArgmax({ logits, predictions: predictions.tensor, N, K })]);
    expect([...(await readU32(predictions.tensor))]).toEqual([...predHost]);
    await predictions.check();

    const correct = guardedOutput(gpu(), [1], 'u32');
    await runCalls(gpu(), [
      accuracyCount({ logits, labels: uploadInts(labelsHost), correct: correct.tensor, N, K }),
    ]);
    const want = new Uint32Array(1);
    accuracyCountCpu({ logits: logitsHost, labels: labelsHost, correct: want, N, K });
    expect((await readU32(correct.tensor))[0]).toBe(want[0]);
    await correct.check();
  });

  it('accumulates across two dispatches, and overwrites without accumulate', async () => {
    const [N, K] = [65, 10];
    const logitsA = tiedLogits(N * K, 1);
    const logitsB = tiedLogits(N * K, 2);
    const labelsHost = randomInts(N, 3, K);
    const labels = uploadInts(labelsHost);
    const correct = guardedOutput(gpu(), [1], 'u32');
    const a = { logits: upload(gpu(), logitsA, [N, K]), labels, correct: correct.tensor, N, K };
    const b = { ...a, logits: upload(gpu(), logitsB, [N, K]) };
    const want = new Uint32Array(1);
    accuracyCountCpu({ logits: logitsA, labels: labelsHost, correct: want, N, K });
    const first = want[0] ?? 0;
    accuracyCountCpu({
      logits: logitsB,
      labels: labelsHost,
      correct: want,
      N,
      K,
      accumulate: true,
    });
    expect(want[0]).toBeGreaterThan(first); // the second batch adds something, so accumulate shows

    await runCalls(gpu(), [accuracyCount(a), accuracyCount({ ...b, accumulate: true })]);
    expect((await readU32(correct.tensor))[0]).toBe(want[0]);
    await runCalls(gpu(), [accuracyCount(a)]);
    expect((await readU32(correct.tensor))[0]).toBe(first);
    await correct.check();
  });

  it('stays exact for logits of +-1e4', async () => {
    const logitsHost = new Float32Array([1e4, 1e4 - 1, -1e4, -1e4, -1e4, -1e4 + 1, 5, 1e4, 1e4]);
    const labels = new Int32Array([0, 2, 1]);
    const predictions = guardedOutput(gpu(), [3], 'u32');
    const logits = upload(gpu(), logitsHost, [3, 3]);
    await runCalls(gpu(), [
      accuracyArgmax({ logits, predictions: predictions.tensor, N: 3, K: 3 }),
    ]);
    expect([...(await readU32(predictions.tensor))]).toEqual([0, 2, 1]);
    const correct = guardedOutput(gpu(), [1], 'u32');
    await runCalls(gpu(), [
      accuracyCount({ logits, labels: uploadInts(labels), correct: correct.tensor, N: 3, K: 3 }),
    ]);
    expect((await readU32(correct.tensor))[0]).toBe(3);
    await predictions.check();
    await correct.check();
  });

  it('argmax covers a grid past 65535 workgroups', async () => {
    const [N, K] = [65536 * 64 + 5, 1]; // 65537 workgroups of 64: the grid spills into y
    const predictions = guardedOutput(gpu(), [N], 'u32');
    const call = accuracyArgmax({
      logits: upload(gpu(), randomFloats(N, 4), [N, K]),
      predictions: predictions.tensor,
      N,
      K,
    });
    expect(call.workgroups[1]).toBeGreaterThan(1);
    await runCalls(gpu(), [call]);
    // K = 1: every prediction is 0; the output starts as NaN bit patterns, so any unwritten one shows.
    expect((await readU32(predictions.tensor)).every((p) => p === 0)).toBe(true);
    await predictions.check();
  });

  it('refuses wrong shapes and dtypes', () => {
    const logits = upload(gpu(), new Float32Array(6), [2, 3]);
    const labels = uploadInts(new Int32Array(2));
    const f32Count = upload(gpu(), new Float32Array(1), [1]);
    const u32Count = uploadTensor(gpu(), new Uint32Array(1), [1]);
    expect(() => accuracyCount({ logits, labels, correct: f32Count, N: 2, K: 3 })).toThrow(
      /correct is f32, expected u32/,
    );
    expect(() => accuracyCount({ logits, labels: logits, correct: u32Count, N: 2, K: 3 })).toThrow(
      /labels has 6 elements/,
    );
    expect(() => accuracyArgmax({ logits, predictions: labels, N: 2, K: 3 })).toThrow(
      /predictions is i32, expected u32/,
    );
  });
});

describe('accuracy race detector', () => {
  it('accuracyCount has no races and counts correctly', () => {
    const [N, K] = [13, 3]; // 13 samples over 8 invocations: every tree level used
    const logits = tiedLogits(N * K, 5);
    const labels = randomInts(N, 6, K);
    const correct = new Uint32Array([999]);
    const bindGroups = {
      0: {
        0: logits.buffer,
        1: labels.buffer,
        2: correct.buffer,
        3: { uniform: accuracyParams.pack({ N, K, accumulate: 0 }) },
      },
    };
    const result = detectRaces(accuracyShader.code, 'accuracyCount', [1, 1, 1], bindGroups, {
      constants: { workgroupSize: 8 },
    });
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    // The interpreter wrote into our buffer: proof that it ran the reduction on these bindings.
    const want = new Uint32Array(1);
    accuracyCountCpu({ logits, labels, correct: want, N, K });
    expect(correct[0]).toBe(want[0]);
  });
});
