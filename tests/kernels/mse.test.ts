import { describe, expect, it } from 'vitest';
import { mseBackward, mseForward } from '../../src/kernels/mse';
import { mseBackwardCpu, mseForwardCpu } from '../../src/kernels/mse.cpu';
import { lossMean } from '../../src/kernels/reduce';
import { lossMeanCpu } from '../../src/kernels/reduce.cpu';
import { dotTolerance, expectAllClose, type Tolerance } from '../helpers/allclose';
import { numericalGradient, toF64 } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const eps = 2 ** -23;
// dPred = 2 (pred - target) * f32(1/(N*D)): one rounding for the difference, one for 1/(N*D) and
// one for the product (x2 is exact); 4 eps relative bounds three roundings.
const backwardTol: Tolerance = { atol: 1e-30, rtol: 4 * eps };

const gpu = useTestGpu();

/** Forward tolerance: a sum of D squares (dotTolerance on the largest row sum), times 1/(N*D). */
function forwardTol(pred: Float32Array, target: Float32Array, N: number, D: number): Tolerance {
  let maxRow = 0;
  for (let n = 0; n < N; n++) {
    let row = 0;
    for (let i = n * D; i < (n + 1) * D; i++) row += ((pred[i] ?? 0) - (target[i] ?? 0)) ** 2;
    maxRow = Math.max(maxRow, row);
  }
  return { atol: dotTolerance(D, maxRow).atol / (N * D), rtol: 4 * eps };
}

describe('mse twin', () => {
  it('matches hand-computed values', () => {
    // N = 2, D = 2: squared errors 1, 4 | 9, 16; mean 30 / 4 = 7.5
    const pred = new Float64Array([1, 2, 3, 4]);
    const target = new Float64Array(4);
    const loss = new Float64Array(2);
    mseForwardCpu({ pred, target, loss, N: 2, D: 2 });
    expect([...loss]).toEqual([5 / 4, 25 / 4]);
    const total = new Float64Array(1);
    lossMeanCpu({ loss, total, N: 2, scale: 1 });
    expect(total[0]).toBe(7.5);
    const dPred = new Float64Array(4);
    mseBackwardCpu({ pred, target, dPred, N: 2, D: 2 });
    expect([...dPred]).toEqual([0.5, 1, 1.5, 2]);
  });

  it('backward equals central differences of the mean (float64)', () => {
    const [N, D] = [3, 4];
    const pred = toF64(randomFloats(N * D, 71, -2, 2));
    const target = toF64(randomFloats(N * D, 72, -2, 2));
    const loss = new Float64Array(N);
    const total = new Float64Array(1);
    const mean = (): number => {
      mseForwardCpu({ pred, target, loss, N, D });
      lossMeanCpu({ loss, total, N, scale: 1 });
      return total[0] ?? 0;
    };
    const numeric = numericalGradient(mean, pred);
    const dPred = new Float64Array(N * D);
    mseBackwardCpu({ pred, target, dPred, N, D });
    expectAllClose(dPred, numeric, { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('mse on the GPU', () => {
  const shapes = [1, 7, 65, 257].flatMap((N) => [1, 3, 10, 784].map((D) => [N, D] as const));
  it.each(shapes)('forward and backward match the twin, N = %i, D = %i', async (N, D) => {
    const predHost = randomFloats(N * D, N + D, -3, 3);
    const targetHost = randomFloats(N * D, N * D + 1, -3, 3);
    const pred = upload(gpu(), predHost, [N, D]);
    const target = upload(gpu(), targetHost, [N, D]);

    const loss = guardedOutput(gpu(), [N]);
    const gotLoss = await runAndRead(
      gpu(),
      mseForward({ pred, target, loss: loss.tensor, N, D }),
      loss.tensor,
    );
    const wantLoss = new Float32Array(N);
    mseForwardCpu({ pred: predHost, target: targetHost, loss: wantLoss, N, D });
    expectAllClose(gotLoss, wantLoss, forwardTol(predHost, targetHost, N, D), 'forward');
    await loss.check();

    const dPred = guardedOutput(gpu(), [N, D]);
    const gotGrad = await runAndRead(
      gpu(),
      mseBackward({ pred, target, dPred: dPred.tensor, N, D }),
      dPred.tensor,
    );
    const wantGrad = new Float32Array(N * D);
    mseBackwardCpu({ pred: predHost, target: targetHost, dPred: wantGrad, N, D });
    expectAllClose(gotGrad, wantGrad, backwardTol, 'backward');
    await dPred.check();
  });

  it('gives MSELoss(reduction=mean) through lossMean with scale 1', async () => {
    const [N, D] = [65, 10];
    const predHost = randomFloats(N * D, 81, -1e4, 1e4);
    const targetHost = randomFloats(N * D, 82, -1e4, 1e4);
    const loss = guardedOutput(gpu(), [N]);
    const mean = guardedOutput(gpu(), [1]);
    const calls = [
      mseForward({
        pred: upload(gpu(), predHost, [N, D]),
        target: upload(gpu(), targetHost, [N, D]),
        loss: loss.tensor,
        N,
        D,
      }),
      lossMean({ loss: loss.tensor, total: mean.tensor, N, scale: 1 }),
    ];
    const got = await runAndRead(gpu(), calls, mean.tensor);
    // The definition, straight: sum of all squared errors over N*D, in float64.
    let sum = 0;
    for (let i = 0; i < N * D; i++) sum += ((predHost[i] ?? 0) - (targetHost[i] ?? 0)) ** 2;
    const want = sum / (N * D);
    expect(Number.isFinite(got[0])).toBe(true);
    // N*D squares and additions in float32 (sizes ~1e8 here, so an absolute bound is meaningless):
    // relative error at most ~(N*D) eps in the worst case, 4 eps per term covers reordering.
    expectAllClose(got, [want], { atol: 0, rtol: 4 * eps * N * D });
    await mean.check();
  });

  it('backward covers a grid past 65535 workgroups', async () => {
    const [N, D] = [65536 * 64 + 5, 1]; // 65537 workgroups of 64: the grid spills into y
    const predHost = randomFloats(N, 91);
    const targetHost = randomFloats(N, 92);
    const dPred = guardedOutput(gpu(), [N, D]);
    const call = mseBackward({
      pred: upload(gpu(), predHost, [N, D]),
      target: upload(gpu(), targetHost, [N, D]),
      dPred: dPred.tensor,
      N,
      D,
    });
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, dPred.tensor);
    const want = new Float32Array(N);
    mseBackwardCpu({ pred: predHost, target: targetHost, dPred: want, N, D });
    expectAllClose(got, want, backwardTol);
    await dPred.check();
  });

  it('refuses wrong shapes', () => {
    const a = upload(gpu(), new Float32Array(6), [2, 3]);
    const b = upload(gpu(), new Float32Array(4), [4]);
    expect(() => mseForward({ pred: a, target: b, loss: b, N: 2, D: 3 })).toThrow(
      /target has 4 elements/,
    );
    expect(() => mseBackward({ pred: a, target: a, dPred: b, N: 2, D: 3 })).toThrow(
      /dPred has 4 elements/,
    );
    expect(() => mseBackward({ pred: a, target: a, dPred: a, N: 2, D: 0 })).toThrow(/D = 0/);
  });
});
