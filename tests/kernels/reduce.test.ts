import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { lossMean, reduceParams, reduceShader } from '../../src/kernels/reduce';
import { lossMeanCpu } from '../../src/kernels/reduce.cpu';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

/** A float32 sum of N terms in a different order than the float64 twin: dotTolerance on sum |loss|. */
const sumTol = (loss: Float32Array, scale: number) =>
  dotTolerance(loss.length, scale * loss.reduce((a, v) => a + Math.abs(v), 0));

describe('lossMean twin', () => {
  it('matches hand-computed values', () => {
    const total = new Float64Array([100]);
    lossMeanCpu({ loss: new Float64Array([1, 2, 3, 6]), total, N: 4 });
    expect(total[0]).toBe(3);
    lossMeanCpu({ loss: new Float64Array([1, 2, 3, 6]), total, N: 4, accumulate: true });
    expect(total[0]).toBe(6);
    lossMeanCpu({ loss: new Float64Array([0.5, 0.25]), total, N: 2, scale: 1 });
    expect(total[0]).toBe(0.75);
  });
});

describe('lossMean on the GPU', () => {
  it.each([1, 7, 65, 255, 256, 257, 1000, 10007])('matches the twin, N = %i', async (N) => {
    const lossHost = randomFloats(N, N, 0, 5);
    const total = guardedOutput(gpu(), [1]);
    const got = await runAndRead(
      gpu(),
      lossMean({ loss: upload(gpu(), lossHost, [N]), total: total.tensor, N }),
      total.tensor,
    );
    const want = new Float32Array(1);
    lossMeanCpu({ loss: lossHost, total: want, N });
    expectAllClose(got, want, sumTol(lossHost, 1 / N));
    await total.check();
  });

  it('accumulates across two dispatches, and overwrites without accumulate', async () => {
    const N = 65;
    const a = randomFloats(N, 1, 0, 3);
    const b = randomFloats(N, 2, -1e4, 1e4);
    const total = guardedOutput(gpu(), [1]);
    const argsA = { loss: upload(gpu(), a, [N]), total: total.tensor, N };
    const argsB = {
      loss: upload(gpu(), b, [N]),
      total: total.tensor,
      N,
      scale: 0.5,
      accumulate: true,
    };
    const got = await runAndRead(gpu(), [lossMean(argsA), lossMean(argsB)], total.tensor);
    const want = new Float64Array(1);
    lossMeanCpu({ loss: a, total: want, N });
    const first = want[0] ?? 0;
    lossMeanCpu({ loss: b, total: want, N, scale: 0.5, accumulate: true });
    // Both sums' tolerances add; the second's terms reach 1e4 (a few ulp of float32 there).
    const tol = { atol: sumTol(a, 1 / N).atol + sumTol(b, 0.5).atol, rtol: 1e-6 };
    expectAllClose(got, want, tol, 'accumulated');
    expectAllClose(
      await runAndRead(gpu(), lossMean(argsA), total.tensor),
      [first],
      sumTol(a, 1 / N),
      'overwritten',
    );
    await total.check();
  });

  it('refuses wrong shapes', () => {
    const loss = upload(gpu(), new Float32Array(4), [4]);
    expect(() => lossMean({ loss, total: loss, N: 4 })).toThrow(
      /total has 4 elements \[4\], expected 1/,
    );
    expect(() => lossMean({ loss, total: upload(gpu(), [0], [1]), N: 5 })).toThrow(
      /loss has 4 elements/,
    );
  });
});

describe('lossMean race detector', () => {
  it('has no races and computes the mean', () => {
    const N = 21; // 21 values over 8 invocations: every tree level used
    const loss = randomFloats(N, 5, 0, 2);
    const total = new Float32Array([NaN]);
    const bindGroups = {
      0: {
        0: loss.buffer,
        1: total.buffer,
        2: { uniform: reduceParams.pack({ count: N, scale: 1 / N, accumulate: 0 }) },
      },
    };
    const result = detectRaces(reduceShader.code, 'lossMean', [1, 1, 1], bindGroups, {
      constants: { workgroupSize: 8 },
    });
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    // The interpreter wrote into our buffer: proof that it ran the reduction on these bindings.
    const want = new Float32Array(1);
    lossMeanCpu({ loss, total: want, N });
    expectAllClose(total, want, sumTol(loss, 1 / N));
  });
});
