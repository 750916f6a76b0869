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
import {
  addAccumulateCpu,
  addBackwardCpu,
  addCopyCpu,
  addForwardCpu,
  addSpatialSumCpu,
} from '../../src/kernels/add.cpu';
import type { Activation } from '../../src/kernels/common.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { inOrderSumAtol } from '../helpers/sumBound';

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

  it('copies dOut into both gradients, and only count elements', () => {
    const dOut = new Float64Array([1, -2, 3, -4]);
    const [dA, dB, copy] = [new Float64Array(4), new Float64Array(4), new Float64Array(4)];
    addBackwardCpu({ dOut, dA, dB, count: 4 });
    addCopyCpu({ source: dOut, target: copy, count: 3 }); // the last element keeps its 0
    expect([[...dA], [...dB], [...copy]]).toEqual([
      [1, -2, 3, -4],
      [1, -2, 3, -4],
      [1, -2, 3, 0],
    ]);
  });

  it('no broadcast: both gradients, addBackward copies of dOut, equal central differences', () => {
    const [N, C, S] = [2, 3, 5];
    const count = N * C * S;
    const a = toF64(randomFloats(count, 4));
    const b = toF64(randomFloats(count, 5));
    const w = toF64(randomFloats(count, 6));
    const out = new Float64Array(count);
    const loss = (): number => {
      addForwardCpu({ a, b, out, N, C, S });
      return weightedSum(out, w);
    };
    const [dA, dB] = [new Float64Array(count), new Float64Array(count)];
    addBackwardCpu({ dOut: w, dA, dB, count });
    // the loss is linear in a and b: central differences are exact up to float64 rounding of
    // |L| ~ 10 over 2h = 2e-6, ~1e-9
    expectAllClose(dA, numericalGradient(loss, a), { atol: 1e-8, rtol: 1e-6 }, 'dA');
    expectAllClose(dB, numericalGradient(loss, b), { atol: 1e-8, rtol: 1e-6 }, 'dB');
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
  // 'none' and 'relu' are exact: the GPU rounds the sum of two f32 values once; the twin adds them
  // in float64 and its store into a Float32Array rounds once more, which gives the same f32
  // (float64 has more than 2*24 + 2 bits, so the double rounding is innocuous), and relu is exact.
  // sigmoid and tanh use the activation family's tolerance (tests/kernels/activation.test.ts):
  // stableSigmoid and stableTanh are a few f32 operations, each rounding.
  const activationTol = { atol: 2e-6, rtol: 1e-5 };
  it.each<[number, number, number, 'none' | 'spatial', Activation]>([
    [1, 1, 1, 'none', 'none'],
    [3, 5, 49, 'none', 'relu'],
    [1, 5, 49, 'spatial', 'relu'],
    [2, 7, 13, 'spatial', 'tanh'],
    [1, 70, 1, 'spatial', 'none'],
    [5, 3, 67, 'none', 'sigmoid'],
    [4, 3, 16, 'none', 'relu'], // 192 elements: addForwardQuads, 48 of a workgroup's 64 lanes
    [1, 1, 4, 'none', 'tanh'], // one vec4
    [2, 2, 4, 'spatial', 'none'], // a multiple of 4, but broadcast: one element per lane in a run
  ])('N=%i C=%i S=%i broadcast %s, %s', async (N, C, S, broadcast, activation) => {
    const count = N * C * S;
    const a = randomFloats(count, N + C, -1e3, 1e3);
    const b = randomFloats(broadcast === 'spatial' ? N * C : count, S, -1e3, 1e3);
    const want = new Float32Array(count);
    addForwardCpu({ a, b, out: want, N, C, S, broadcast, activation });
    const out = createTensor(gpu(), [count]);
    const args = { a: upload(gpu(), a, [count]), b: upload(gpu(), b, [b.length]), out, N, C, S };
    const call = addForward({ ...args, broadcast, activation });
    const quads = count % 4 === 0 && broadcast === 'none';
    expect(call.entryPoint).toBe(quads ? 'addForwardQuads' : 'addForward');
    const got = await runAndRead(gpu(), call, out);
    if (activation === 'none' || activation === 'relu') expect(got).toEqual(want);
    else expectAllClose(got, want, activationTol, 'out');
  });

  // 615 elements: not a multiple of 64 or of 4; 820: the vec4 entry points, with spare lanes.
  it.each([
    [3, 5, 41],
    [4, 5, 41],
  ])(
    'copies exactly, accumulates in place, and sums over S like the twin, %i x %i x %i',
    async (N, C, S) => {
      const count = N * C * S;
      const suffix = count % 4 === 0 ? 'Quads' : '';
      for (const entryPoint of ['addBackward', 'addCopy', 'addAccumulate'] as const) {
        const t = createTensor(gpu(), [count]);
        const calls = {
          addBackward: () => addBackward({ dOut: t, dA: t, dB: t, count }),
          addCopy: () => addCopy({ source: t, target: t, count }),
          addAccumulate: () => addAccumulate({ source: t, target: t, count }),
        };
        expect(calls[entryPoint]().entryPoint).toBe(`${entryPoint}${suffix}`);
      }
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
      expect(
        await runAndRead(gpu(), addAccumulate({ source: dOut, target, count }), target),
      ).toEqual(want);
      const sums = createTensor(gpu(), [N * C]);
      const sumWant = new Float32Array(N * C);
      addSpatialSumCpu({ dOut: dOutData, dB: sumWant, N, C, S });
      // S = 41 terms of up to 1e3 summed in order in f32 on the GPU, in float64 by the twin: the
      // recursive-summation bound (S - 1)·2^-24·sum|dOut| (~0.1 here) covers the GPU's rounding, and
      // the twin's final store into f32 rounds by half an ulp of the sum, within rtol 2^-23. A missing
      // or doubled term moves a sum by ~500.
      const sumTol = { atol: inOrderSumAtol(dOutData, N * C, S), rtol: 2 ** -23 };
      expectAllClose(
        await runAndRead(gpu(), addSpatialSum({ dOut, dB: sums, N, C, S }), sums),
        sumWant,
        sumTol,
        'dB',
      );
    },
  );

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
