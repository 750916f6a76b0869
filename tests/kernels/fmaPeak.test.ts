import { describe, expect, it } from 'vitest';
import { fmaPeak } from '../../src/kernels/fmaPeak';
import { fmaPeakCpu, fmaPeakFlops } from '../../src/kernels/fmaPeak.cpu';
import { expectAllClose } from '../helpers/allclose';
import { runAndRead, useTestGpu } from '../helpers/gpu';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

describe('fmaPeak', () => {
  it('twin converges to add / (1 - mul)', () => {
    const sums = new Float64Array(1);
    fmaPeakCpu({ sums, iterations: 2000, mul: 0.99, add: 0.01 });
    expect(sums[0]).toBeCloseTo(32 * 1, 6); // 32 lanes, each at 0.01 / 0.01
    expect(fmaPeakFlops(10, 3)).toBe(10 * 3 * 64);
  });

  it.each([1, 7, 257])('GPU checksums match the twin, count = %i', async (count) => {
    const out = guardedOutput(gpu(), [count]);
    const got = await runAndRead(
      gpu(),
      fmaPeak({ sums: out.tensor, iterations: 50, mul: 0.9, add: 0.05 }),
      out.tensor,
    );
    const want = new Float32Array(count);
    fmaPeakCpu({ sums: want, iterations: 50, mul: 0.9, add: 0.05 });
    // 50 rounds of fused vs separate rounding on values < 1, then a sum of 32: 1e-5 covers it.
    expectAllClose(got, want, { atol: 1e-5, rtol: 1e-5 });
    await out.check();
  });
});
