/** layerNorm.wgsl: torch.nn.LayerNorm over the last axis, forward and gradients. */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { layerNormBackward, layerNormForward } from '../../src/kernels/layerNorm';
import { layerNormBackwardCpu, layerNormForwardCpu } from '../../src/kernels/layerNorm.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { inOrderSumAtol } from '../helpers/sumBound';

const gpu = useTestGpu();

describe('layerNorm twin', () => {
  it('normalizes each row with the biased variance, then the affine map', () => {
    // row [1, 2, 3]: mean 2, variance 2/3; eps 0 would give xhat = [-1.2247, 0, 1.2247]
    const [y, mean, rstd] = [new Float64Array(3), new Float64Array(1), new Float64Array(1)];
    const weight = new Float64Array([1, 2, 3]);
    const bias = new Float64Array([0, 1, -1]);
    const x = new Float64Array([1, 2, 3]);
    layerNormForwardCpu({ x, weight, bias, y, mean, rstd, rows: 1, D: 3, eps: 1e-5 });
    const inv = 1 / Math.sqrt(2 / 3 + 1e-5);
    expect(mean[0]).toBe(2);
    expect(rstd[0]).toBeCloseTo(inv, 12);
    expect([...y].map((v) => +v.toFixed(6))).toEqual(
      [-inv, 1, 3 * inv - 1].map((v) => +v.toFixed(6)),
    );
  });

  it('the backward equals central differences for x, weight and bias', () => {
    const [rows, D] = [3, 5];
    const x = toF64(randomFloats(rows * D, 1, -2, 2));
    const weight = toF64(randomFloats(D, 2, 0.5, 1.5));
    const bias = toF64(randomFloats(D, 3));
    const w = toF64(randomFloats(rows * D, 4));
    const [y, mean, rstd] = [
      new Float64Array(rows * D),
      new Float64Array(rows),
      new Float64Array(rows),
    ];
    const forward = { x, weight, bias, y, mean, rstd, rows, D, eps: 1e-5 };
    const loss = (): number => {
      layerNormForwardCpu(forward);
      return weightedSum(y, w);
    };
    loss();
    const grads = {
      dX: new Float64Array(rows * D),
      dWeight: new Float64Array(D),
      dBias: new Float64Array(D),
    };
    layerNormBackwardCpu({ x, weight, mean, rstd, dY: w, ...grads, rows, D });
    const tol = { atol: 1e-8, rtol: 1e-6 };
    expectAllClose(grads.dX, numericalGradient(loss, x), tol, 'dX');
    expectAllClose(grads.dWeight, numericalGradient(loss, weight), tol, 'dWeight');
    expectAllClose(grads.dBias, numericalGradient(loss, bias), tol, 'dBias');
  });
});

/** Runs forward and backward on the GPU; returns every output. */
async function onGpu(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  dY: Float32Array,
  rows: number,
  D: number,
) {
  const g = gpu();
  const t = {
    x: upload(g, x, [rows, D]),
    weight: upload(g, weight, [D]),
    bias: upload(g, bias, [D]),
    y: createTensor(g, [rows, D]),
    mean: createTensor(g, [rows]),
    rstd: createTensor(g, [rows]),
    dY: upload(g, dY, [rows, D]),
    dX: createTensor(g, [rows, D]),
    dWeight: createTensor(g, [D]),
    dBias: createTensor(g, [D]),
  };
  const y = await runAndRead(g, layerNormForward({ ...t, rows, D, eps: 1e-5 }), t.y);
  const [mean, rstd] = [await runAndRead(g, [], t.mean), await runAndRead(g, [], t.rstd)];
  const dX = await runAndRead(g, layerNormBackward({ ...t, rows, D }), t.dX);
  const [dWeight, dBias] = [await runAndRead(g, [], t.dWeight), await runAndRead(g, [], t.dBias)];
  return { y, mean, rstd, dX, dWeight, dBias };
}

describe('layerNorm on the GPU vs the twin', () => {
  it.each([
    [1, 1, 0],
    [1, 7, 0],
    [5, 64, 0],
    [37, 130, 0],
    [300, 33, 0],
    [9, 128, 1e4], // |mean| >> std: the two-pass variance keeps every digit float32 has
  ])('rows=%i D=%i offset=%d', async (rows, D, offset) => {
    const x = randomFloats(rows * D, rows + D, -1e3, 1e3).map(
      (v) => offset + v / (offset ? 1e3 : 1),
    );
    const weight = randomFloats(D, 7, 0.5, 1.5);
    const bias = randomFloats(D, 8);
    const dY = randomFloats(rows * D, 9);
    const n = rows * D;
    const want = {
      y: new Float64Array(n),
      mean: new Float64Array(rows),
      rstd: new Float64Array(rows),
      dX: new Float64Array(n),
      dWeight: new Float64Array(D),
      dBias: new Float64Array(D),
    };
    layerNormForwardCpu({ x, weight, bias, ...want, rows, D, eps: 1e-5 });
    layerNormBackwardCpu({ x, weight, dY, ...want, rows, D });
    const got = await onGpu(x, weight, bias, dY, rows, D);
    // The mean's in-order f32 sum is off by at most gamma(D - 1) sum|x| (tests/helpers/sumBound),
    // divided by D; an error e in the mean moves every xhat by e·rstd, and the variance's sum
    // adds as much again relative to itself. xhat is O(1) (|xhat| <= sqrt(D)), so y is within
    // ~2·e·rstd·max|weight| plus a few ulp; dX's row sums add gamma(D)·sum|g xhat| in the same way.
    const meanErr = inOrderSumAtol(x, rows, D) / D;
    const maxRstd = Math.max(...want.rstd);
    const relative = 8 * D * 2 ** -24;
    expectAllClose(got.mean, want.mean, { atol: meanErr, rtol: 2 ** -22 }, 'mean');
    expectAllClose(
      got.rstd,
      want.rstd,
      { atol: 0, rtol: relative + 2 * meanErr * maxRstd },
      'rstd',
    );
    const yTol = { atol: 3 * meanErr * maxRstd * 1.5 + relative * Math.sqrt(D), rtol: relative };
    expectAllClose(got.y, want.y, yTol, 'y');
    // That bound is the worst case of every rounding adding up. At offset 1e4 with std ~0.6,
    // float32 holds x to ulp(1e4) = 2^-10, so x - mean is known to ~1.7e-3 of a std at best: y
    // within 1e-2 is a few of those quanta. E[x^2] - E[x]^2 would cancel 1e8-sized terms
    // (ulp 8) against a variance of 0.33, an error of order 1 or NaN.
    if (offset) expectAllClose(got.y, want.y, { atol: 1e-2, rtol: 0 }, 'y at a large offset');
    const dTol = {
      atol: (3 * meanErr * maxRstd + relative) * maxRstd * Math.sqrt(D) * 4,
      rtol: relative,
    };
    expectAllClose(got.dX, want.dX, dTol, 'dX');
    // the column sums: rows terms each of |dY·xhat| <= sqrt(D), in order
    const colTol = {
      atol: rows * (relative + 3 * meanErr * maxRstd) * Math.sqrt(D),
      rtol: relative,
    };
    expectAllClose(got.dWeight, want.dWeight, colTol, 'dWeight');
    expectAllClose(got.dBias, want.dBias, { atol: inOrderSumAtol(dY, 1, n), rtol: 0 }, 'dBias');
  });

  it('reruns are bit-identical', async () => {
    const [rows, D] = [33, 20];
    const args = [
      randomFloats(rows * D, 1),
      randomFloats(D, 2),
      randomFloats(D, 3),
      randomFloats(rows * D, 4),
    ] as const;
    const a = await onGpu(...args, rows, D);
    const b = await onGpu(...args, rows, D);
    expect(b).toEqual(a);
  });

  it('without dX the backward is the parameter call alone, with the same bits', async () => {
    const g = gpu();
    const [rows, D] = [70, 9]; // more rows than a workgroup's lanes, D not a multiple of 64
    const [x, weight, bias, dY] = [
      randomFloats(rows * D, 1),
      randomFloats(D, 2),
      randomFloats(D, 3),
      randomFloats(rows * D, 4),
    ];
    const full = await onGpu(x, weight, bias, dY, rows, D);
    const t = {
      x: upload(g, x, [rows, D]),
      weight: upload(g, weight, [D]),
      mean: upload(g, full.mean, [rows]),
      rstd: upload(g, full.rstd, [rows]),
      dY: upload(g, dY, [rows, D]),
      dWeight: createTensor(g, [D]),
      dBias: createTensor(g, [D]),
    };
    const calls = layerNormBackward({ ...t, rows, D });
    expect(calls.map((c) => c.entryPoint)).toEqual(['layerNormBackwardParams']);
    expect(await runAndRead(g, calls, t.dWeight)).toEqual(full.dWeight);
    expect(await runAndRead(g, [], t.dBias)).toEqual(full.dBias);
  });

  it('refuses mismatched sizes, other dtypes and an eps not finite and > 0', () => {
    const g = gpu();
    const t = (n: number) => createTensor(g, [n]);
    const base = {
      x: t(12),
      weight: t(4),
      bias: t(4),
      y: t(12),
      mean: t(3),
      rstd: t(3),
      rows: 3,
      D: 4,
    };
    for (const eps of [0, -1e-5, NaN, Infinity])
      expect(() => layerNormForward({ ...base, eps })).toThrow(`eps = ${eps}, expected finite`);
    const ints = createTensor(g, [12], { dtype: 'i32' });
    expect(() => layerNormForward({ ...base, x: ints, eps: 1e-5 })).toThrow(/x is i32/);
    const grads = { dY: t(12), dWeight: t(4), dBias: t(4) };
    expect(() => layerNormBackward({ ...base, ...grads, dX: t(11) })).toThrow(/dX has 11/);
    expect(() => layerNormForward({ ...base, mean: t(4), eps: 1e-5 })).toThrow(
      /mean has 4 elements/,
    );
    expect(() => layerNormForward({ ...base, weight: t(3), eps: 1e-5 })).toThrow(/weight has 3/);
  });
});
