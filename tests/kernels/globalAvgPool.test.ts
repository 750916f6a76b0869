/** globalAvgPool.wgsl: the mean over H, W per channel and its backward. */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { globalAvgPoolBackward, globalAvgPoolForward } from '../../src/kernels/globalAvgPool';
import {
  globalAvgPoolBackwardCpu,
  globalAvgPoolForwardCpu,
} from '../../src/kernels/globalAvgPool.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { inOrderSumAtol } from '../helpers/sumBound';

const gpu = useTestGpu();

describe('globalAvgPool twin', () => {
  it('averages each channel and spreads the gradient evenly', () => {
    const out = new Float64Array(2);
    globalAvgPoolForwardCpu({
      x: new Float64Array([1, 2, 3, 4, 10, 20, 30, 40]),
      out,
      N: 1,
      C: 2,
      S: 4,
    });
    expect([...out]).toEqual([2.5, 25]);
    const dX = new Float64Array(8);
    globalAvgPoolBackwardCpu({ dOut: new Float64Array([4, -8]), dX, N: 1, C: 2, S: 4 });
    expect([...dX]).toEqual([1, 1, 1, 1, -2, -2, -2, -2]);
  });

  it('the backward equals central differences', () => {
    const [N, C, S] = [2, 3, 7];
    const x = toF64(randomFloats(N * C * S, 1));
    const w = toF64(randomFloats(N * C, 2));
    const out = new Float64Array(N * C);
    const loss = (): number => {
      globalAvgPoolForwardCpu({ x, out, N, C, S });
      return weightedSum(out, w);
    };
    const dX = new Float64Array(N * C * S);
    globalAvgPoolBackwardCpu({ dOut: w, dX, N, C, S });
    expectAllClose(dX, numericalGradient(loss, x), { atol: 1e-8, rtol: 1e-6 }, 'dX');
  });
});

describe('globalAvgPool on the GPU vs the twin', () => {
  // WGSL promises x / y within 2.5 ulp (not correctly rounded), and the twin's store into f32
  // rounds by half an ulp more: 3 ulp = 3·2^-23 relative, for both directions' one division.
  const divisionRtol = 3 * 2 ** -23;
  it.each([
    [1, 1, 1],
    [3, 5, 49],
    [2, 70, 784],
    [130, 3, 1],
  ])('N=%i C=%i S=%i', async (N, C, S) => {
    const x = randomFloats(N * C * S, N * C + S, -1e3, 1e3);
    const want = new Float32Array(N * C);
    globalAvgPoolForwardCpu({ x, out: want, N, C, S });
    const out = createTensor(gpu(), [N * C]);
    const got = await runAndRead(
      gpu(),
      globalAvgPoolForward({ x: upload(gpu(), x, [x.length]), out, N, C, S }),
      out,
    );
    // The in-order f32 sum is within (S - 1)·2^-24·sum|x| of the exact one (tests/helpers/sumBound),
    // scaled by 1/S: at most ~0.05 for S = 784 and |x| <= 1e3, while a missing term moves the
    // mean by ~500/S. The division adds its own relative error.
    const forwardTol = { atol: inOrderSumAtol(x, N * C, S) / S, rtol: divisionRtol };
    expectAllClose(got, want, forwardTol, 'out');
    const dOutData = randomFloats(N * C, 5, -1e3, 1e3);
    const dXWant = new Float32Array(N * C * S);
    globalAvgPoolBackwardCpu({ dOut: dOutData, dX: dXWant, N, C, S });
    const dX = createTensor(gpu(), [N * C * S]);
    const dXGot = await runAndRead(
      gpu(),
      globalAvgPoolBackward({ dOut: upload(gpu(), dOutData, [N * C]), dX, N, C, S }),
      dX,
    );
    expectAllClose(dXGot, dXWant, { atol: 0, rtol: divisionRtol }, 'dX');
  });
});
