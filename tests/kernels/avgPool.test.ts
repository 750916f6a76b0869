import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { dispatchFor, runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { ShadergradError } from '../../src/base/errors';
import {
  avgPoolBackward,
  avgPoolForward,
  type AvgPoolBackwardEntry,
  type AvgPoolForwardEntry,
} from '../../src/kernels/avgPool';
import { avgPoolBackwardCpu, avgPoolForwardCpu } from '../../src/kernels/avgPool.cpu';
import {
  maxWindowsPerElement,
  poolGeometry,
  poolShape,
  type PoolGeometry,
} from '../../src/kernels/geometry';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { pairsPoolInputs, poolCases, poolGradCases } from '../helpers/cases';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

interface Pooled {
  out: Float32Array;
  dX: Float32Array;
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function twin(g: PoolGeometry, x: Float32Array, dOut: Float32Array): Pooled {
  const r = { out: new Float32Array(count(poolShape(g, 'out'))), dX: new Float32Array(x.length) };
  avgPoolForwardCpu({ x, out: r.out, geometry: g });
  avgPoolBackwardCpu({ dOut, dX: r.dX, geometry: g });
  return r;
}

/** The same call with a smaller workgroup (an override), to reach > 65535 workgroups cheaply. */
function withWorkgroupSize(call: KernelCall, size: number, invocations: number): KernelCall {
  return {
    ...call,
    constants: { ...call.constants, workgroupSize: size },
    workgroups: dispatchFor(invocations, size),
  };
}

/** Forward and backward in one submit, both outputs guarded. */
async function runGpu(
  g: PoolGeometry,
  xHost: Float32Array,
  dOutHost: Float32Array,
  workgroupSize?: number,
  entries: { forward?: AvgPoolForwardEntry; backward?: AvgPoolBackwardEntry } = {},
): Promise<Pooled> {
  const out = guardedOutput(gpu(), poolShape(g, 'out'));
  const dX = guardedOutput(gpu(), poolShape(g, 'in'));
  let forward = avgPoolForward(
    { x: upload(gpu(), xHost, poolShape(g, 'in')), out: out.tensor, geometry: g },
    entries.forward,
  );
  let backward = avgPoolBackward(
    { dOut: upload(gpu(), dOutHost, poolShape(g, 'out')), dX: dX.tensor, geometry: g },
    entries.backward,
  );
  if (workgroupSize !== undefined) {
    forward = withWorkgroupSize(forward, workgroupSize, count(poolShape(g, 'out')));
    backward = withWorkgroupSize(backward, workgroupSize, count(poolShape(g, 'in')));
  }
  await runCalls(gpu(), [forward, backward]);
  const got = {
    out: await readFloat32(gpu(), out.tensor),
    dX: await readFloat32(gpu(), dX.tensor),
  };
  await out.check();
  await dX.check();
  return got;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function expectMatchesTwin(
  g: PoolGeometry,
  got: Pooled,
  want: Pooled,
  xMaxAbs: number,
  dOutMaxAbs: number,
): void {
  // out is a dot product of KH*KW inputs with weights 1/(KH*KW): sum|terms| <= xMaxAbs. The GPU
  // sums in float32 then divides; the twin sums in float64. dotTolerance(K, bound) covers K
  // float32 roundings of that sum (its rtol 1e-5 adds the division's few ulp).
  expectAllClose(got.out, want.out, dotTolerance(g.KH * g.KW, xMaxAbs), 'out');
  // dX sums up to maxWindowsPerElement terms dOut/(KH*KW), gathered on the GPU and scattered by
  // the twin (different order); each term is at most dOutMaxAbs / (KH*KW).
  const windows = maxWindowsPerElement(g);
  expectAllClose(
    got.dX,
    want.dX,
    dotTolerance(windows, (windows * dOutMaxAbs) / (g.KH * g.KW)),
    'dX',
  );
}

describe('avgPool checks', () => {
  it('wrappers throw ShadergradError on wrong shapes and hand-made geometry', () => {
    const g = poolGeometry({ N: 2, C: 1, H: 5, W: 4 }, 2);
    const x = upload(gpu(), new Float32Array(40), [2, 1, 5, 4]);
    const out = upload(gpu(), new Float32Array(8), [2, 1, 2, 2]);
    expect(() => avgPoolForward({ x, out, geometry: g })).not.toThrow();
    expect(() => avgPoolForward({ x, out: x, geometry: g })).toThrow(
      /out has shape \[2, 1, 5, 4\], expected \[2, 1, 2, 2\]/,
    );
    expect(() => avgPoolBackward({ dOut: out, dX: out, geometry: g })).toThrow(ShadergradError);
    expect(() => avgPoolForward({ x, out, geometry: { ...g, strideW: 0 } })).toThrow(/strideW = 0/);
    expect(() => avgPoolForward({ x, out, geometry: { ...g, OW: 1 } })).toThrow(ShadergradError);
  });
});

describe('avgPool twin', () => {
  it('matches a hand-computed 2x2 pool of a 4x4 plane', () => {
    // prettier-ignore
    const x = new Float32Array([
      1, 2, 5, 3,
      4, 1, 1, -1,
      -1, -2, 7, 8,
      -3, -6, 8, 6,
    ]);
    const got = twin(
      poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2),
      x,
      new Float32Array([4, 8, -4, 2]),
    );
    expect([...got.out]).toEqual([2, 2, -3, 7.25]);
    // Each window element gets a quarter of its window's dOut.
    expect([...got.dX]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5]);
  });

  it('sums overlapping windows and leaves dropped elements at zero (1x5 plane, 1x2 stride 1; 1x3 stride 2)', () => {
    const overlap = twin(
      poolGeometry({ N: 1, C: 1, H: 1, W: 5 }, [1, 2], 1),
      new Float32Array([1, 3, 5, 7, 9]),
      new Float32Array([2, 4, 6, 8]),
    );
    expect([...overlap.out]).toEqual([2, 4, 6, 8]);
    expect([...overlap.dX]).toEqual([1, 3, 5, 7, 4]); // (d_{w-1} + d_w) / 2
    const dropped = twin(
      poolGeometry({ N: 1, C: 1, H: 1, W: 6 }, [1, 3], 2),
      new Float32Array([3, 6, 9, 3, 0, 8]),
      new Float32Array([3, 6]),
    );
    expect([...dropped.out]).toEqual([6, 4]);
    expect([...dropped.dX]).toEqual([1, 1, 3, 2, 2, 0]); // w=2 in both windows; w=5 in none
  });

  it.each(poolGradCases)(
    'backward equals central differences (float64), %s',
    (_name, kernel, stride) => {
      const g = poolGeometry({ N: 2, C: 2, H: 7, W: 6 }, kernel, stride);
      const x = toF64(randomFloats(count(poolShape(g, 'in')), 41));
      const w = toF64(randomFloats(count(poolShape(g, 'out')), 42));
      const out = new Float64Array(w.length);
      const loss = (): number => {
        avgPoolForwardCpu({ x, out, geometry: g });
        return weightedSum(out, w);
      };
      const numeric = numericalGradient(loss, x);
      const dX = new Float64Array(x.length);
      avgPoolBackwardCpu({ dOut: w, dX, geometry: g });
      // The loss is linear in x: central differences are exact up to float64 rounding (~1e-10).
      expectAllClose(dX, numeric, { atol: 1e-8, rtol: 1e-6 });
    },
  );
});

describe('avgPool on the GPU', () => {
  it('matches the hand-computed 2x2 pool of a 4x4 plane', async () => {
    const x = new Float32Array([1, 2, 5, 3, 4, 1, 1, -1, -1, -2, 7, 8, -3, -6, 8, 6]);
    const got = await runGpu(
      poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2),
      x,
      new Float32Array([4, 8, -4, 2]),
    );
    // Small integers and quarters: every sum and quotient is exact in float32.
    expect([...got.out]).toEqual([2, 2, -3, 7.25]);
    expect([...got.dX]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5]);
  });

  it.each(poolCases)('matches the twin: %s', async (_name, input, kernel, stride) => {
    const g = poolGeometry(input, kernel, stride);
    const seed = g.H * 100 + g.W * 10 + g.KH;
    const xHost = randomFloats(count(poolShape(g, 'in')), seed, -3, 3);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), seed + 1);
    expectMatchesTwin(g, await runGpu(g, xHost, dOutHost), twin(g, xHost, dOutHost), 3, 1);
  });

  // 2x2 windows of stride 2 over an even width take the *Pairs entry points by default.
  it.each(pairsPoolInputs)(
    'the pairs entry points equal the general ones, bit for bit: %s',
    async (_name, input) => {
      const g = poolGeometry(input, 2);
      const xHost = randomFloats(count(poolShape(g, 'in')), g.H + g.W, -1e4, 1e4);
      const dOutHost = randomFloats(count(poolShape(g, 'out')), g.H * g.W);
      const t = (shape: readonly number[]) => guardedOutput(gpu(), shape).tensor;
      const [x, out] = [t(poolShape(g, 'in')), t(poolShape(g, 'out'))];
      expect(avgPoolForward({ x, out, geometry: g }).entryPoint).toBe('avgPoolForwardPairs');
      expect(avgPoolBackward({ dOut: out, dX: x, geometry: g }).entryPoint).toBe(
        'avgPoolBackwardPairs',
      );
      const general = { forward: 'avgPoolForward', backward: 'avgPoolBackward' } as const;
      const pairs = { forward: 'avgPoolForwardPairs', backward: 'avgPoolBackwardPairs' } as const;
      const want = await runGpu(g, xHost, dOutHost, undefined, general);
      const got = await runGpu(g, xHost, dOutHost, undefined, pairs);
      expectMatchesTwin(g, got, twin(g, xHost, dOutHost), maxAbs(xHost), maxAbs(dOutHost));
      expect(got).toEqual(want);
    },
  );

  it('refuses the pairs entry points for other windows', () => {
    const g = poolGeometry({ N: 1, C: 1, H: 4, W: 5 }, 2);
    const t = (shape: readonly number[]) => guardedOutput(gpu(), shape).tensor;
    const [x, out] = [t(poolShape(g, 'in')), t(poolShape(g, 'out'))];
    expect(() => avgPoolForward({ x, out, geometry: g }, 'avgPoolForwardPairs')).toThrow(
      'avgPool.avgPoolForwardPairs: only for 2x2 windows of stride 2 over an even width',
    );
    expect(() =>
      avgPoolBackward({ dOut: out, dX: x, geometry: g }, 'avgPoolBackwardPairs'),
    ).toThrow('avgPool.avgPoolBackwardPairs: only for 2x2 windows of stride 2 over an even width');
  });

  it('stays accurate for values of +-1e4 with overlapping windows', async () => {
    const g = poolGeometry({ N: 2, C: 3, H: 11, W: 9 }, 3, 1);
    const xHost = randomFloats(count(poolShape(g, 'in')), 51, -1e4, 1e4);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), 52, -1e4, 1e4);
    const got = await runGpu(g, xHost, dOutHost);
    expectMatchesTwin(g, got, twin(g, xHost, dOutHost), maxAbs(xHost), maxAbs(dOutHost));
  });

  it('covers every element of grids past 65535 workgroups', async () => {
    // 8 x 513 x 513 inputs, 2x2 stride 1 -> 8 x 512 x 512 outputs; 16-thread workgroups make
    // 131072 (forward) and 131585 (backward) workgroups, so both grids spill into y.
    const g = poolGeometry({ N: 1, C: 8, H: 513, W: 513 }, 2, 1);
    const xHost = randomFloats(count(poolShape(g, 'in')), 61, -1, 1);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), 62);
    expect(dispatchFor(count(poolShape(g, 'out')), 16)[1]).toBeGreaterThan(1);
    expectMatchesTwin(g, await runGpu(g, xHost, dOutHost, 16), twin(g, xHost, dOutHost), 1, 1);
  });
});
