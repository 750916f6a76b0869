import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward } from '../../src/kernels/activation';
import { activationBackwardCpu, activationForwardCpu } from '../../src/kernels/activation.cpu';
import type { Activation } from '../../src/kernels/common.cpu';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const activations: Activation[] = ['relu', 'sigmoid', 'tanh', 'none'];
// exp/tanh on GPUs are accurate to a few ulp (WGSL allows more); 2e-6 absolute on values in
// [-1, 1] and 1e-5 relative covers that with margin, and is far below any logic error.
const tol = { atol: 2e-6, rtol: 1e-5 };

const gpu = useTestGpu();

describe('activation twin', () => {
  it('matches hand-computed values', () => {
    const x = new Float64Array([-2, 0, 3]);
    const y = new Float64Array(3);
    activationForwardCpu({ x, y, activation: 'relu' });
    expect([...y]).toEqual([0, 0, 3]);
    activationForwardCpu({ x, y, activation: 'sigmoid' });
    expectAllClose(y, [1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-3))], {
      atol: 1e-15,
      rtol: 0,
    });
  });

  it.each(activations)('%s backward equals central differences (float64)', (activation) => {
    // Points away from relu's kink at 0, where the derivative is undefined.
    const x = toF64(randomFloats(40, 7, -3, 3).map((v) => (Math.abs(v) < 0.05 ? v + 0.2 : v)));
    const w = toF64(randomFloats(40, 8));
    const y = new Float64Array(40);
    const loss = (): number => {
      activationForwardCpu({ x, y, activation });
      return weightedSum(y, w);
    };
    const numeric = numericalGradient(loss, x);
    loss();
    const dX = new Float64Array(40);
    activationBackwardCpu({ y, dY: w, dX, activation });
    expectAllClose(dX, numeric, { atol: 1e-8, rtol: 1e-6 }, activation);
  });
});

describe.each(activations)('activation %s on the GPU', (activation) => {
  // Counts divisible by 4 (4, 260, 1000) take the vec4 entry points, the others one per element.
  it.each([1, 4, 7, 63, 65, 257, 260, 1000])(
    'forward and backward match the twin, n = %i',
    async (n) => {
      const xHost = randomFloats(n, n, -5, 5);
      const x = upload(gpu(), xHost, [n]);
      const y = guardedOutput(gpu(), [n]);
      const forward = activationForward({ x, y: y.tensor, activation });
      const suffix = n % 4 === 0 ? 'Quads' : '';
      expect(forward.entryPoint).toBe(`activationForward${suffix}`);
      const got = await runAndRead(gpu(), forward, y.tensor);
      const want = new Float32Array(n);
      activationForwardCpu({ x: xHost, y: want, activation });
      expectAllClose(got, want, tol, 'forward');
      await y.check();

      const dYHost = randomFloats(n, n + 1);
      const dX = guardedOutput(gpu(), [n]);
      const dY = upload(gpu(), dYHost, [n]);
      const backward = activationBackward({ y: y.tensor, dY, dX: dX.tensor, activation });
      expect(backward.entryPoint).toBe(`activationBackward${suffix}`);
      const gotDx = await runAndRead(gpu(), backward, dX.tensor);
      const wantDx = new Float32Array(n);
      activationBackwardCpu({ y: got, dY: dYHost, dX: wantDx, activation });
      expectAllClose(gotDx, wantDx, tol, 'backward');
      await dX.check();
    },
  );

  it('stays finite for logits of +-1e4', async () => {
    const xHost = new Float32Array([-1e4, -100, 0, 100, 1e4]);
    const y = guardedOutput(gpu(), [5]);
    const got = await runAndRead(
      gpu(),
      activationForward({ x: upload(gpu(), xHost, [5]), y: y.tensor, activation }),
      y.tensor,
    );
    const want = new Float32Array(5);
    activationForwardCpu({ x: xHost, y: want, activation });
    expect(got.every(Number.isFinite)).toBe(true);
    expectAllClose(got, want, tol);
  });
});

describe('activation dispatch past 65535 workgroups', () => {
  it('covers every element of a 2-D grid', async () => {
    const n = 65536 * 256 + 5; // 65537 workgroups of 256: the grid spills into y
    const xHost = randomFloats(n, 3, -1, 1);
    const y = guardedOutput(gpu(), [n]);
    const call = activationForward({
      x: upload(gpu(), xHost, [n]),
      y: y.tensor,
      activation: 'relu',
    });
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, y.tensor);
    const want = new Float32Array(n);
    activationForwardCpu({ x: xHost, y: want, activation: 'relu' });
    expectAllClose(got, want, { atol: 0, rtol: 0 });
    await y.check();
  });
});
