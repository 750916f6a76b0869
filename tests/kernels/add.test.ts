/**
 * add.wgsl: out = f(a + b) with and without the spatial broadcast, the gradient copies, the
 * in-place accumulate and the spatial sum, GPU against the twin, the twin against central
 * differences.
 */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import {
  addAccumulate,
  addBackward,
  addCopy,
  addForward,
  addSpatialSum,
} from '../../src/kernels/add';
import { addAccumulateCpu, addForwardCpu, addSpatialSumCpu } from '../../src/kernels/add.cpu';
import type { Activation } from '../../src/kernels/common.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('add twin', () => {
  it('matches hand-computed sums, broadcast and the spatial sum', () => {
    const out = new Float64Array(4);
    const a = new Float64Array([1, -2, 3, -4]);
    addForwardCpu({
      a,
      b: new Float64Array([1, 1, 1, 1]),
      out,
      N: 1,
      C: 2,
      S: 2,
      activation: 'relu',
    });
    expect([...out]).toEqual([2, 0, 4, 0]);
    addForwardCpu({
      a,
      b: new Float64Array([10, 20]),
      out,
      N: 1,
      C: 2,
      S: 2,
      broadcast: 'spatial',
    });
    expect([...out]).toEqual([11, 8, 23, 16]);
    const dB = new Float64Array(2);
    addSpatialSumCpu({ dOut: a, dB, N: 1, C: 2, S: 2 });
    expect([...dB]).toEqual([-1, -1]);
    const target = new Float64Array([1, 2]);
    addAccumulateCpu({ source: new Float64Array([0.5, -2]), target, count: 2 });
    expect([...target]).toEqual([1.5, 0]);
  });

  it('broadcast b: its gradient, the spatial sum of dOut, equals central differences', () => {
    const [N, C, S] = [2, 3, 5];
    const a = toF64(randomFloats(N * C * S, 1));
    const b = toF64(randomFloats(N * C, 2));
    const w = toF64(randomFloats(N * C * S, 3));
    const out = new Float64Array(N * C * S);
    const loss = (): number => {
      addForwardCpu({ a, b, out, N, C, S, broadcast: 'spatial' });
      return weightedSum(out, w);
    };
    const dB = new Float64Array(N * C);
    addSpatialSumCpu({ dOut: w, dB, N, C, S });
    expectAllClose(dB, numericalGradient(loss, b), { atol: 1e-8, rtol: 1e-6 }, 'dB');
    // and a's gradient is dOut itself
    expectAllClose(numericalGradient(loss, a), w, { atol: 1e-8, rtol: 1e-6 }, 'dA');
  });
});

describe('add on the GPU vs the twin', () => {
  // One f32 add then the activation: the twin rounds the same sum once, so 1 ulp of the result
  // (plus the activation's few ulp) covers it; 1e-6 relative on values up to 1e3.
  const tol = { atol: 1e-6, rtol: 1e-6 };
  it.each<[number, number, number, 'none' | 'spatial', Activation]>([
    [1, 1, 1, 'none', 'none'],
    [3, 5, 49, 'none', 'relu'],
    [2, 7, 13, 'spatial', 'tanh'],
    [1, 70, 1, 'spatial', 'none'],
    [5, 3, 67, 'none', 'sigmoid'],
  ])('N=%i C=%i S=%i broadcast %s, %s', async (N, C, S, broadcast, activation) => {
    const count = N * C * S;
    const a = randomFloats(count, N + C, -1e3, 1e3);
    const b = randomFloats(broadcast === 'spatial' ? N * C : count, S, -1e3, 1e3);
    const want = new Float32Array(count);
    addForwardCpu({ a, b, out: want, N, C, S, broadcast, activation });
    const out = createTensor(gpu(), [count]);
    const args = { a: upload(gpu(), a, [count]), b: upload(gpu(), b, [b.length]), out, N, C, S };
    const got = await runAndRead(gpu(), addForward({ ...args, broadcast, activation }), out);
    expectAllClose(got, want, tol, 'out');
  });

  it('copies exactly, accumulates in place, and sums over S like the twin', async () => {
    const [N, C, S] = [3, 5, 41]; // 615 elements: not a multiple of 64 or of 4
    const count = N * C * S;
    const dOutData = randomFloats(count, 9, -1e3, 1e3);
    const dOut = upload(gpu(), dOutData, [count]);
    const [dA, dB] = [createTensor(gpu(), [count]), createTensor(gpu(), [count])];
    expect(await runAndRead(gpu(), addBackward({ dOut, dA, dB, count }), dA)).toEqual(dOutData);
    expect(await runAndRead(gpu(), [], dB)).toEqual(dOutData);
    const copy = createTensor(gpu(), [count]);
    expect(await runAndRead(gpu(), addCopy({ source: dOut, target: copy, count }), copy)).toEqual(
      dOutData,
    );
    const start = randomFloats(count, 10);
    const target = upload(gpu(), start, [count]);
    const want = Float32Array.from(start);
    addAccumulateCpu({ source: dOutData, target: want, count });
    // one f32 add, as the twin's store into a Float32Array rounds it: bit-identical
    expect(await runAndRead(gpu(), addAccumulate({ source: dOut, target, count }), target)).toEqual(
      want,
    );
    const sums = createTensor(gpu(), [N * C]);
    const sumWant = new Float32Array(N * C);
    addSpatialSumCpu({ dOut: dOutData, dB: sumWant, N, C, S });
    // S = 41 terms of up to 1e3 summed in f32 on the GPU, in float64 by the twin: 41 ulp of the
    // sum of magnitudes (41e3 * 6e-8 ~ 2.5e-3) bounds the difference
    expectAllClose(
      await runAndRead(gpu(), addSpatialSum({ dOut, dB: sums, N, C, S }), sums),
      sumWant,
      { atol: 3e-3, rtol: 0 },
      'dB',
    );
  });

  it('refuses tensors of the wrong size, naming them', () => {
    const t = createTensor(gpu(), [6]);
    expect(() =>
      addForward({ a: t, b: t, out: t, N: 1, C: 2, S: 3, broadcast: 'spatial' }),
    ).toThrow(/add\.addForward.*b/);
    expect(() => addAccumulate({ source: t, target: createTensor(gpu(), [5]), count: 6 })).toThrow(
      /target/,
    );
  });
});
