import { describe, expect, it } from 'vitest';
import { readFloat32, readTensor, uploadTensor } from '../../src/gpu/buffers';
import { dispatchFor, runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { ShadergradError } from '../../src/base/errors';
import {
  maxPoolBackward,
  maxPoolForward,
  type MaxPoolBackwardEntry,
  type MaxPoolForwardEntry,
} from '../../src/kernels/maxPool';
import { maxPoolBackwardCpu, maxPoolForwardCpu } from '../../src/kernels/maxPool.cpu';
import { activationBackwardCpu, activationForwardCpu } from '../../src/kernels/activation.cpu';
import type { Activation } from '../../src/kernels/common.cpu';
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

const exact = { atol: 0, rtol: 0 };

const gpu = useTestGpu();

interface Pooled {
  out: Float32Array;
  argmax: Uint32Array | Int32Array;
  dX: Float32Array;
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs the twin in float32 arrays, backward through the twin's own argmax. */
function twin(g: PoolGeometry, x: Float32Array, dOut: Float32Array): Pooled {
  const outCount = count(poolShape(g, 'out'));
  const r = {
    out: new Float32Array(outCount),
    argmax: new Int32Array(outCount),
    dX: new Float32Array(x.length),
  };
  maxPoolForwardCpu({ x, out: r.out, argmax: r.argmax, geometry: g });
  maxPoolBackwardCpu({ dOut, argmax: r.argmax, dX: r.dX, geometry: g });
  return r;
}

/** Forward then backward (through the GPU's argmax) in one submit, every output guarded. */
async function runGpu(
  g: PoolGeometry,
  xHost: Float32Array,
  dOutHost: Float32Array,
  workgroupSize?: number,
  entry?: MaxPoolBackwardEntry,
  forwardEntry?: MaxPoolForwardEntry,
): Promise<Pooled> {
  const out = guardedOutput(gpu(), poolShape(g, 'out'));
  const argmax = guardedOutput(gpu(), poolShape(g, 'out'), 'u32');
  const dX = guardedOutput(gpu(), poolShape(g, 'in'));
  const x = upload(gpu(), xHost, poolShape(g, 'in'));
  const dOut = upload(gpu(), dOutHost, poolShape(g, 'out'));
  let forward = maxPoolForward(
    { x, out: out.tensor, argmax: argmax.tensor, geometry: g },
    forwardEntry,
  );
  let backward = maxPoolBackward(
    { dOut, argmax: argmax.tensor, dX: dX.tensor, geometry: g },
    entry,
  );
  if (workgroupSize !== undefined) {
    // One invocation per output row (forward, disjoint backward) or input row (backward).
    const disjoint = backward.entryPoint !== 'maxPoolBackward';
    forward = withWorkgroupSize(forward, workgroupSize, g.N * g.C * g.OH);
    backward = withWorkgroupSize(backward, workgroupSize, g.N * g.C * (disjoint ? g.OH : g.H));
  }
  await runCalls(gpu(), [forward, backward]);
  const got = {
    out: await readFloat32(gpu(), out.tensor),
    argmax: (await readTensor(gpu(), argmax.tensor)) as Uint32Array,
    dX: await readFloat32(gpu(), dX.tensor),
  };
  await out.check();
  await argmax.check();
  await dX.check();
  return got;
}

/** The same call with a smaller workgroup (an override), to reach > 65535 workgroups cheaply. */
function withWorkgroupSize(call: KernelCall, size: number, invocations: number): KernelCall {
  return {
    ...call,
    constants: { ...call.constants, workgroupSize: size },
    workgroups: dispatchFor(invocations, size),
  };
}

function expectMatchesTwin(g: PoolGeometry, got: Pooled, want: Pooled, dOutMaxAbs: number): void {
  // Max and argmax only move values around: bit-exact.
  expectAllClose(got.out, want.out, exact, 'out');
  const firstBad = got.argmax.findIndex((a, i) => a !== want.argmax[i]);
  expect(
    firstBad,
    `argmax[${firstBad}] = ${got.argmax[firstBad]}, expected ${want.argmax[firstBad]}`,
  ).toBe(-1);
  expect(got.argmax.length).toBe(want.argmax.length);
  // dX sums up to maxWindowsPerElement dOut values in a different order than the twin's scatter:
  // float32 rounding of that many terms, each at most dOutMaxAbs.
  const windows = maxWindowsPerElement(g);
  expectAllClose(got.dX, want.dX, dotTolerance(windows, windows * dOutMaxAbs), 'dX');
}

describe('maxPool geometry and checks', () => {
  it('computes floor-mode output sizes, stride defaulting to the kernel', () => {
    expect(poolGeometry({ N: 2, C: 3, H: 7, W: 5 }, 3, 2)).toMatchObject({
      KH: 3,
      KW: 3,
      strideH: 2,
      strideW: 2,
      OH: 3,
      OW: 2,
    });
    expect(poolGeometry({ N: 1, C: 1, H: 9, W: 11 }, 2)).toMatchObject({
      strideH: 2,
      strideW: 2,
      OH: 4,
      OW: 5,
    });
    expect(poolGeometry({ N: 1, C: 1, H: 6, W: 9 }, [2, 3], [1, 2])).toMatchObject({
      OH: 5,
      OW: 4,
    });
  });

  it('rejects kernels larger than the input, zero sizes and fractional strides', () => {
    expect(() => poolGeometry({ N: 1, C: 1, H: 2, W: 8 }, 3)).toThrow(/larger than the 2x8 input/);
    expect(() => poolGeometry({ N: 0, C: 1, H: 4, W: 4 }, 2)).toThrow(/N = 0/);
    expect(() => poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, [2, 0])).toThrow(/KW = 0/);
    expect(() => poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2, 1.5)).toThrow(/strideH = 1.5/);
  });

  it('wrappers throw ShadergradError on wrong shapes, dtypes and hand-made geometry', () => {
    const g = poolGeometry({ N: 1, C: 2, H: 4, W: 4 }, 2);
    const x = upload(gpu(), new Float32Array(32), [1, 2, 4, 4]);
    const out = upload(gpu(), new Float32Array(8), [1, 2, 2, 2]);
    const argmax = guardedOutput(gpu(), [1, 2, 2, 2], 'u32').tensor;
    expect(() => maxPoolForward({ x, out, argmax, geometry: g })).not.toThrow();
    expect(() => maxPoolForward({ x: out, out, argmax, geometry: g })).toThrow(
      /x has shape \[1, 2, 2, 2\], expected \[1, 2, 4, 4\]/,
    );
    expect(() => maxPoolForward({ x, out, argmax: out, geometry: g })).toThrow(
      /argmax is f32, expected u32/,
    );
    expect(() => maxPoolBackward({ dOut: out, argmax, dX: out, geometry: g })).toThrow(
      ShadergradError,
    );
    expect(() => maxPoolForward({ x, out, argmax, geometry: { ...g, OH: 3 } })).toThrow(
      /does not match floor mode's 2x2/,
    );
  });
});

describe('maxPool twin', () => {
  it('matches a hand-computed 2x2 pool of a 4x4 plane, including a tie', () => {
    // prettier-ignore
    const x = new Float32Array([
      1, 2, 5, 3,
      4, 0, 1, 1,
      -1, -2, 7, 8,
      -3, -4, 8, 6,
    ]);
    const g = poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2);
    const got = twin(g, x, new Float32Array([1, 2, 3, 4]));
    expect([...got.out]).toEqual([4, 5, -1, 8]);
    // The bottom-right window holds 8 at (2,3) = 11 and (3,2) = 14: the first in row-major order wins.
    expect([...got.argmax]).toEqual([4, 2, 8, 11]);
    const dX = new Array<number>(16).fill(0);
    [dX[4], dX[2], dX[8], dX[11]] = [1, 2, 3, 4];
    expect([...got.dX]).toEqual(dX);
  });

  it.each(poolGradCases)(
    'backward equals central differences (float64), %s',
    (_name, kernel, stride) => {
      const g = poolGeometry({ N: 2, C: 2, H: 7, W: 6 }, kernel, stride);
      // Distinct values 0.01 apart (a permuted ramp, 37 is coprime to n = 168): a 1e-6 step never
      // changes an argmax.
      const n = count(poolShape(g, 'in'));
      const x = toF64(Array.from({ length: n }, (_, i) => ((i * 37) % n) * 0.01 - 0.8));
      const w = toF64(randomFloats(count(poolShape(g, 'out')), 12));
      const out = new Float64Array(w.length);
      const argmax = new Int32Array(w.length);
      const loss = (): number => {
        maxPoolForwardCpu({ x, out, argmax, geometry: g });
        return weightedSum(out, w);
      };
      const numeric = numericalGradient(loss, x);
      loss();
      const dX = new Float64Array(n);
      maxPoolBackwardCpu({ dOut: w, argmax, dX, geometry: g });
      expectAllClose(dX, numeric, { atol: 1e-8, rtol: 1e-6 });
    },
  );
});

describe('maxPool on the GPU', () => {
  it('matches the hand-computed 2x2 pool of a 4x4 plane', async () => {
    const x = new Float32Array([1, 2, 5, 3, 4, 0, 1, 1, -1, -2, 7, 8, -3, -4, 8, 6]);
    const got = await runGpu(
      poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2),
      x,
      new Float32Array([1, 2, 3, 4]),
    );
    expect([...got.out]).toEqual([4, 5, -1, 8]);
    expect([...got.argmax]).toEqual([4, 2, 8, 11]);
    expect([...got.dX]).toEqual([0, 0, 2, 0, 1, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0]);
  });

  it('breaks ties to the first maximum and propagates NaN like PyTorch', async () => {
    // A 2x8 plane, 2x2 windows: all equal | NaN before a larger 5 | two NaNs | all -inf.
    // prettier-ignore
    const x = new Float32Array([
      3, 3, 1, NaN, NaN, 9, -Infinity, -Infinity,
      3, 3, 2, 5, NaN, 0, -Infinity, -Infinity,
    ]);
    const g = poolGeometry({ N: 1, C: 1, H: 2, W: 8 }, 2);
    const dOut = new Float32Array([1, 2, 3, 4]);
    const wantArgmax = [0, 3, 12, 6]; // first 3; the NaN; the LAST NaN; the first -inf
    for (const got of [twin(g, x, dOut), await runGpu(g, x, dOut)]) {
      expect([...got.argmax]).toEqual(wantArgmax);
      expect([...got.out]).toEqual([3, NaN, NaN, -Infinity]);
      expect([...got.dX]).toEqual([1, 0, 0, 2, 0, 0, 4, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
    }
  });

  it.each(poolCases)('matches the twin: %s', async (_name, input, kernel, stride) => {
    const g = poolGeometry(input, kernel, stride);
    const seed = g.H * 100 + g.W * 10 + g.KH;
    const xHost = randomFloats(count(poolShape(g, 'in')), seed, -3, 3);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), seed + 1);
    const want = twin(g, xHost, dOutHost);
    expectMatchesTwin(g, await runGpu(g, xHost, dOutHost, undefined, 'maxPoolBackward'), want, 1);
    // Disjoint windows (stride >= kernel) also take the per-window path, by default.
    if (g.strideH >= g.KH && g.strideW >= g.KW) {
      const disjoint = await runGpu(g, xHost, dOutHost, undefined, 'maxPoolBackwardDisjoint');
      expectMatchesTwin(g, disjoint, want, 1);
      expectAllClose(disjoint.dX, want.dX, exact, 'dX'); // one term per element: exact
    } else {
      await expect(
        runGpu(g, xHost, dOutHost, undefined, 'maxPoolBackwardDisjoint'),
      ).rejects.toThrow(/windows overlap/);
    }
  });

  // 2x2 windows of stride 2 over an even width take the *Pairs entry points by default.
  it.each(pairsPoolInputs)(
    'the pairs entry points equal the general ones, bit for bit: %s',
    async (_name, input) => {
      const g = poolGeometry(input, 2);
      const xHost = randomFloats(count(poolShape(g, 'in')), g.H + g.W, -3, 3);
      xHost[1] = xHost[0] ?? 0; // a tie in the first window
      const dOutHost = randomFloats(count(poolShape(g, 'out')), g.H * g.W);
      const forward = maxPoolForward({
        x: upload(gpu(), xHost, poolShape(g, 'in')),
        out: upload(gpu(), new Float32Array(count(poolShape(g, 'out'))), poolShape(g, 'out')),
        argmax: guardedOutput(gpu(), poolShape(g, 'out'), 'u32').tensor,
        geometry: g,
      });
      expect(forward.entryPoint).toBe('maxPoolForwardPairs');
      const general = await runGpu(
        g,
        xHost,
        dOutHost,
        undefined,
        'maxPoolBackwardDisjoint',
        'maxPoolForward',
      );
      const pairs = await runGpu(
        g,
        xHost,
        dOutHost,
        undefined,
        'maxPoolBackwardPairs',
        'maxPoolForwardPairs',
      );
      expectMatchesTwin(g, pairs, twin(g, xHost, dOutHost), 1);
      expect(pairs).toEqual(general);
    },
  );

  it('refuses the pairs entry points for other windows', () => {
    const g = poolGeometry({ N: 1, C: 1, H: 4, W: 5 }, 2);
    const t = (shape: readonly number[], dtype?: 'u32') =>
      guardedOutput(gpu(), shape, dtype).tensor;
    const [x, out, argmax] = [
      t(poolShape(g, 'in')),
      t(poolShape(g, 'out')),
      t(poolShape(g, 'out'), 'u32'),
    ];
    expect(() => maxPoolForward({ x, out, argmax, geometry: g }, 'maxPoolForwardPairs')).toThrow(
      'maxPool.maxPoolForwardPairs: only for 2x2 windows of stride 2 over an even width',
    );
    expect(() =>
      maxPoolBackward({ dOut: out, argmax, dX: x, geometry: g }, 'maxPoolBackwardPairs'),
    ).toThrow('maxPool.maxPoolBackwardPairs: only for 2x2 windows of stride 2 over an even width');
  });

  it('is exact for values of +-1e4 with overlapping windows', async () => {
    const g = poolGeometry({ N: 2, C: 3, H: 11, W: 9 }, 3, 1);
    const xHost = randomFloats(count(poolShape(g, 'in')), 21, -1e4, 1e4);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), 22, -1e4, 1e4);
    expectMatchesTwin(g, await runGpu(g, xHost, dOutHost), twin(g, xHost, dOutHost), 1e4);
  });

  it('covers every element of grids past 65535 workgroups', async () => {
    // 2048 planes of 513 x 3, 2x2 stride 1 -> 512 x 2 outputs each: 1048576 output rows and
    // 1050624 input rows; 16-thread workgroups make 65536 and 65664 workgroups, so both grids
    // spill into y.
    const g = poolGeometry({ N: 1, C: 2048, H: 513, W: 3 }, 2, 1);
    const xHost = randomFloats(count(poolShape(g, 'in')), 31, -1, 1);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), 32);
    expect(dispatchFor(g.N * g.C * g.OH, 16)[1]).toBeGreaterThan(1);
    expect(dispatchFor(g.N * g.C * g.H, 16)[1]).toBeGreaterThan(1);
    expectMatchesTwin(g, await runGpu(g, xHost, dOutHost, 16), twin(g, xHost, dOutHost), 1);
    // The disjoint backward, one invocation per output row: 2048 planes of 513 output rows.
    const d = poolGeometry({ N: 1, C: 2048, H: 1026, W: 2 }, 2);
    const dxHost = randomFloats(count(poolShape(d, 'in')), 33, -1, 1);
    const dDOutHost = randomFloats(count(poolShape(d, 'out')), 34);
    expect(dispatchFor(d.N * d.C * d.OH, 16)[1]).toBeGreaterThan(1);
    const got = await runGpu(d, dxHost, dDOutHost, 16, 'maxPoolBackwardDisjoint');
    expectMatchesTwin(d, got, twin(d, dxHost, dDOutHost), 1);
  });
});

describe('maxPool backward with the preceding activation fused', () => {
  const activations = ['relu', 'sigmoid', 'tanh'] as const;

  /** x = f(pre), pooled; returns the forward's out and argmax and the fused backward's dPre. */
  function fusedTwin(
    g: PoolGeometry,
    pre: Float64Array | Float32Array,
    dOut: Float64Array | Float32Array,
    activation: Activation,
  ): { x: typeof pre; out: typeof pre; argmax: Int32Array; dPre: typeof pre } {
    const make = (n: number): typeof pre =>
      pre instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    const x = make(pre.length);
    activationForwardCpu({ x: pre, y: x, activation });
    const out = make(dOut.length);
    const argmax = new Int32Array(dOut.length);
    maxPoolForwardCpu({ x, out, argmax, geometry: g });
    const dPre = make(pre.length);
    maxPoolBackwardCpu({ dOut, argmax, dX: dPre, geometry: g, activation, out });
    return { x, out, argmax, dPre };
  }

  it.each(activations)('twin equals pool backward then %s backward, exactly', (activation) => {
    const g = poolGeometry({ N: 2, C: 3, H: 7, W: 5 }, 3, 1);
    const pre = randomFloats(count(poolShape(g, 'in')), 41, -2, 2);
    const dOut = randomFloats(count(poolShape(g, 'out')), 42);
    const { x, argmax, dPre } = fusedTwin(g, pre, dOut, activation);
    const dX = new Float32Array(pre.length);
    maxPoolBackwardCpu({ dOut, argmax, dX, geometry: g });
    const composed = new Float32Array(pre.length);
    activationBackwardCpu({ y: x, dY: dX, dX: composed, activation });
    expectAllClose(dPre, composed, exact, 'dPre');
  });

  it.each(activations)('twin equals central differences through %s (float64)', (activation) => {
    const g = poolGeometry({ N: 1, C: 2, H: 6, W: 5 }, 2, 1);
    const n = count(poolShape(g, 'in'));
    // Distinct values, none near 0 (ReLU's kink), so a 1e-6 step changes no argmax.
    const pre = toF64(Array.from({ length: n }, (_, i) => ((i * 7) % n) * 0.05 - 0.72));
    const w = toF64(randomFloats(count(poolShape(g, 'out')), 43));
    const loss = (): number => weightedSum(fusedTwin(g, pre, w, activation).out, w);
    const numeric = numericalGradient(loss, pre);
    expectAllClose(fusedTwin(g, pre, w, activation).dPre, numeric, { atol: 1e-8, rtol: 1e-6 });
  });

  it.each([
    ['relu, 28x28 2x2 (the CNN)', 'relu', { N: 2, C: 3, H: 28, W: 28 }, 2, 2],
    ['sigmoid, 7x5 3x3 stride 1 (overlapping)', 'sigmoid', { N: 2, C: 3, H: 7, W: 5 }, 3, 1],
    ['tanh, 9x11 2x2 (trailing dropped)', 'tanh', { N: 1, C: 2, H: 9, W: 11 }, 2, 2],
    ['relu, stride 3 > kernel 2', 'relu', { N: 2, C: 1, H: 10, W: 11 }, 2, 3],
  ] as const)('GPU matches the twin: %s', async (_name, activation, input, kernel, stride) => {
    const g = poolGeometry(input, kernel, stride);
    const pre = randomFloats(count(poolShape(g, 'in')), 44, -3, 3);
    const dOutHost = randomFloats(count(poolShape(g, 'out')), 45, -1e4, 1e4);
    const want = fusedTwin(g, pre, dOutHost, activation);
    const dPre = guardedOutput(gpu(), poolShape(g, 'in'));
    const backward = maxPoolBackward({
      dOut: upload(gpu(), dOutHost, poolShape(g, 'out')),
      argmax: uploadTensor(gpu(), Uint32Array.from(want.argmax), poolShape(g, 'out')),
      out: upload(gpu(), want.out, poolShape(g, 'out')),
      dX: dPre.tensor,
      geometry: g,
      activation,
    });
    await runCalls(gpu(), [backward]);
    // The same sum of the same terms times the same f' (one multiply): only the order of the
    // sum can differ, when windows overlap.
    const windows = maxWindowsPerElement(g);
    const tolerance = dotTolerance(windows, windows * 1e4);
    expectAllClose(await readFloat32(gpu(), dPre.tensor), want.dPre, tolerance, 'dPre');
    await dPre.check();
  });

  it('refuses a fused activation without the forward out', () => {
    const g = poolGeometry({ N: 1, C: 1, H: 4, W: 4 }, 2);
    const out = upload(gpu(), new Float32Array(4), [1, 1, 2, 2]);
    const argmax = uploadTensor(gpu(), new Uint32Array(4), [1, 1, 2, 2]);
    const dX = upload(gpu(), new Float32Array(16), [1, 1, 4, 4]);
    const call = { dOut: out, argmax, dX, geometry: g, activation: 'relu' as const };
    expect(() => maxPoolBackward(call)).toThrow(/needs the forward out/);
  });
});
