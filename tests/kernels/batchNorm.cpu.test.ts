/**
 * The batch-norm CPU twin (src/kernels/batchNorm.cpu.ts) on its own: hand-computed values and
 * gradients against central differences. The GPU kernels are compared with it in
 * batchNorm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  batchNormBackwardCpu,
  batchNormForwardCpu,
  batchNormRunningUpdateCpu,
  batchNormStatsCpu,
} from '../../src/kernels/batchNorm.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';

const channelGrads = (C: number) => ({ dWeight: new Float64Array(C), dBias: new Float64Array(C) });

describe('batchNorm twin', () => {
  // N = 2, C = 1, S = 2: x = [1, 3 | 5, 7], so mean 4 and biased variance (9+1+1+9)/4 = 5;
  // eps = 4 makes invStd = 1/3 and xhat = [-1, -1/3, 1/3, 1]. weight 2, bias 0.5.
  const [N, C, S, eps] = [2, 1, 2, 4];
  const x = new Float64Array([1, 3, 5, 7]);
  const [weight, bias] = [new Float64Array([2]), new Float64Array([0.5])];
  const [mean, variance] = [new Float64Array(1), new Float64Array(1)];
  const exact = { atol: 1e-14, rtol: 0 }; // float64 arithmetic on small fractions

  it('matches hand-computed statistics, forward and running update', () => {
    batchNormStatsCpu({ x, mean, variance, N, C, S });
    expect([mean[0], variance[0]]).toEqual([4, 5]);
    const y = new Float64Array(4);
    batchNormForwardCpu({ x, mean, variance, weight, bias, y, N, C, S, eps });
    expectAllClose(y, [-1.5, -1 / 6, 7 / 6, 2.5], exact);
    batchNormForwardCpu({ x, mean, variance, weight, bias, y, N, C, S, eps, activation: 'relu' });
    expectAllClose(y, [0, 0, 7 / 6, 2.5], exact);
    // momentum 0.1, count 4: 0.9 * 0 + 0.1 * 4; 0.9 * 1 + 0.1 * 5 * 4/3 (unbiased) = 0.9 + 2/3.
    const [runningMean, runningVar] = [new Float64Array([0]), new Float64Array([1])];
    const running = { mean, variance, runningMean, runningVar, C, count: 4, momentum: 0.1 };
    batchNormRunningUpdateCpu(running);
    expectAllClose([...runningMean, ...runningVar], [0.4, 0.9 + 2 / 3], exact);
    expect(() => batchNormRunningUpdateCpu({ ...running, count: 1 })).toThrow(/count = 1/);
  });

  it('matches a hand-computed backward', () => {
    // dY = [1, 2, 3, 4]: dBias = 10, dWeight = -1 - 2/3 + 1 + 4 = 10/3, and
    // dX = (2 * 1/3 / 4) (4 dY - 10 - xhat 10/3) = [-4/9, -4/27, 4/27, 4/9] (torch agrees).
    const dY = new Float64Array([1, 2, 3, 4]);
    const [dWeight, dBias, dX] = [new Float64Array(1), new Float64Array(1), new Float64Array(4)];
    batchNormBackwardCpu({ x, dY, mean, variance, weight, dWeight, dBias, dX, N, C, S, eps });
    expectAllClose([...dBias, ...dWeight], [10, 10 / 3], exact);
    expectAllClose(dX, [-4 / 9, -4 / 27, 4 / 27, 4 / 9], exact);
  });

  it.each([
    [5, 3, 1],
    [2, 3, 4],
  ])(
    'backward equals central differences of the training forward (float64), N = %i, C = %i, S = %i',
    (N, C, S) => {
      const count = N * C * S;
      const [x0, w] = [toF64(randomFloats(count, 31, -2, 2)), toF64(randomFloats(count, 32))];
      const [weight, bias] = [toF64(randomFloats(C, 33, 0.5, 2)), toF64(randomFloats(C, 34))];
      const [mean, variance, y] = [
        new Float64Array(C),
        new Float64Array(C),
        new Float64Array(count),
      ];
      const eps = 1e-5;
      // loss = sum w * y with y from this batch's own statistics: the training-mode function.
      const loss = (): number => {
        batchNormStatsCpu({ x: x0, mean, variance, N, C, S });
        batchNormForwardCpu({ x: x0, mean, variance, weight, bias, y, N, C, S, eps });
        return weightedSum(y, w);
      };
      const numeric = {
        dX: numericalGradient(loss, x0),
        dWeight: numericalGradient(loss, weight),
        dBias: numericalGradient(loss, bias),
      };
      loss(); // statistics at the unperturbed point
      const got = { dX: new Float64Array(count), ...channelGrads(C) };
      batchNormBackwardCpu({ x: x0, dY: w, mean, variance, weight, ...got, N, C, S, eps });
      // h = 1e-6 on a smooth O(1) loss: central differences err by ~1e-9 (finiteDiff.ts).
      for (const name of ['dX', 'dWeight', 'dBias'] as const)
        expectAllClose(got[name], numeric[name], { atol: 1e-7, rtol: 1e-6 }, name);
    },
  );
});
