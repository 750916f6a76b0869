import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { writeTensor } from '../../src/gpu/buffers';
import { grid1d } from '../../src/gpu/dispatch';
import { activationBackwardCpu } from '../../src/kernels/activation.cpu';
import { biasAddForward, biasBackward, biasParams, biasShader } from '../../src/kernels/bias';
import { biasAddForwardCpu, biasBackwardCpu } from '../../src/kernels/bias.cpu';
import type { Activation } from '../../src/kernels/common.cpu';
import { dotTolerance, expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { randomFloats } from '../../src/base/random';
import { guardedOutput } from '../helpers/sentinel';

// One rounding of x + bias, then the activation (a few ulp on GPUs): 2e-6 absolute on values of
// order 1 and 1e-5 relative on large ones, far below any indexing error.
const forwardTol = { atol: 2e-6, rtol: 1e-5 };

const gpu = useTestGpu();

/** max over channels of sum |dOut[n, c, s]|, the magnitude dotTolerance needs. */
function maxChannelAbsSum(dOut: Float32Array, C: number, S: number): number {
  const abs = new Float64Array(C);
  for (let i = 0; i < dOut.length; i++) {
    const c = Math.floor(i / S) % C;
    abs[c] = (abs[c] ?? 0) + Math.abs(dOut[i] ?? 0);
  }
  return Math.max(...abs);
}

describe('bias twin', () => {
  it('matches hand-computed values', () => {
    // N = 2, C = 2, S = 2: x = 0..7, bias = [10, -10]
    const x = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]);
    biasAddForwardCpu({
      x,
      bias: new Float64Array([10, -10]),
      N: 2,
      C: 2,
      S: 2,
      activation: 'relu',
    });
    expect([...x]).toEqual([10, 11, 0, 0, 14, 15, 0, 0]);
    const dBias = new Float64Array(2);
    biasBackwardCpu({ dOut: new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]), dBias, N: 2, C: 2, S: 2 });
    expect([...dBias]).toEqual([0 + 1 + 4 + 5, 2 + 3 + 6 + 7]);
  });

  it.each<Activation>(['none', 'tanh'])(
    'backward (after the %s backward) equals central differences (float64)',
    (activation) => {
      const [N, C, S] = [3, 4, 5];
      const x0 = toF64(randomFloats(N * C * S, 11, -2, 2));
      const bias = toF64(randomFloats(C, 12));
      const w = toF64(randomFloats(N * C * S, 13));
      const y = new Float64Array(N * C * S);
      const loss = (): number => {
        y.set(x0);
        biasAddForwardCpu({ x: y, bias, N, C, S, activation });
        return weightedSum(y, w);
      };
      const numeric = numericalGradient(loss, bias);
      loss();
      const dOut = new Float64Array(N * C * S);
      activationBackwardCpu({ y, dY: w, dX: dOut, activation });
      const dBias = new Float64Array(C);
      biasBackwardCpu({ dOut, dBias, N, C, S });
      expectAllClose(dBias, numeric, { atol: 1e-8, rtol: 1e-6 });
    },
  );
});

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [7, 3, 784],
  [65, 10, 1],
  [257, 7, 1],
  [1, 257, 63],
  [7, 1000, 1],
  [9, 2, 196], // rows narrower than the workgroup: 60 idle lanes, one row per step
  [5, 3, 100], // two rows per step, 56 idle lanes, an odd row count
  [300, 5, 2], // the tree with S = 2: 128 rows per step
  [1, 2, 1000], // batch 1, vec4 reads: 250 per row
  [3, 4, 299], // scalar reads (S % 4 != 0) past the serial limit
  [1, 8, 1], // dense rows of a multiple of 4 channels: vec4 rows, batch 1
  [17, 2052, 1], // 513 quads: past a workgroup of 64, not a multiple of it
];

/** The entry point biasBackward takes for a shape (the rule the wrapper's comments give). */
function backwardEntryPoint(N: number, C: number, S: number): string {
  if (S === 1 && C % 4 === 0) return 'biasBackwardRowQuads'; // dense rows, 4 channels a lane
  if (N * S <= 256 || S === 1) return 'biasBackwardSerial'; // few terms, or dense rows
  return S % 4 === 0 ? 'biasBackwardQuads' : 'biasBackward'; // the tree, vec4 reads if it can
}

describe('bias on the GPU', () => {
  it.each(shapes)('forward matches the twin, N = %i, C = %i, S = %i', async (N, C, S) => {
    for (const activation of ['none', 'relu', 'sigmoid'] as const) {
      const xHost = randomFloats(N * C * S, N + C + S, -3, 3);
      const biasHost = randomFloats(C, C);
      const x = guardedOutput(gpu(), [N, C, S]);
      writeTensor(gpu(), x.tensor, xHost);
      const got = await runAndRead(
        gpu(),
        biasAddForward({ x: x.tensor, bias: upload(gpu(), biasHost, [C]), N, C, S, activation }),
        x.tensor,
      );
      biasAddForwardCpu({ x: xHost, bias: biasHost, N, C, S, activation });
      expectAllClose(got, xHost, forwardTol, activation);
      await x.check();
    }
  });

  // Each shape at a GPU's 256 lanes per channel and a CPU "GPU"'s 8 (channelSumLanes).
  const backwardCases = shapes.flatMap(([N, C, S]) => [256, 8].map((lanes) => [N, C, S, lanes]));
  it.each(backwardCases)(
    'backward matches the twin, N = %i, C = %i, S = %i, %i lanes',
    async (N, C, S, lanes) => {
      const dOutHost = randomFloats(N * C * S, 7 * N + S, -1, 1);
      const dBias = guardedOutput(gpu(), [C]);
      const dOut = upload(gpu(), dOutHost, [N, C, S]);
      const call = biasBackward({ dOut, dBias: dBias.tensor, N, C, S }, lanes);
      expect(call.entryPoint).toBe(backwardEntryPoint(N, C, S));
      const tree = call.entryPoint === 'biasBackward' || call.entryPoint === 'biasBackwardQuads';
      if (tree) expect(call.constants?.workgroupSize).toBeLessThanOrEqual(lanes);
      const got = await runAndRead(gpu(), call, dBias.tensor);
      const want = new Float32Array(C);
      biasBackwardCpu({ dOut: dOutHost, dBias: want, N, C, S });
      // A sum of N*S float32 terms in a different order than the twin's float64 loop.
      expectAllClose(got, want, dotTolerance(N * S, maxChannelAbsSum(dOutHost, C, S)));
      await dBias.check();
    },
  );

  it('sums dense rows 4 channels a lane exactly as the serial loop does, at +-1e4', async () => {
    const [N, C, S] = [37, 516, 1];
    // Terms of +-1e4 and small ones, so that the order of the adds shows in the last bits.
    const dOutHost = randomFloats(N * C, 13, -1, 1).map((v, i) => (i % 3 === 0 ? v * 1e4 : v));
    const dOut = upload(gpu(), dOutHost, [N, C, S]);
    const quads = guardedOutput(gpu(), [C]);
    const call = biasBackward({ dOut, dBias: quads.tensor, N, C, S });
    expect(call.entryPoint).toBe('biasBackwardRowQuads');
    const got = await runAndRead(gpu(), call, quads.tensor);
    await quads.check();
    const serial = upload(gpu(), new Float32Array(C), [C]);
    const serialCall = {
      ...call,
      tensors: [dOut, serial],
      entryPoint: 'biasBackwardSerial',
      workgroups: grid1d(Math.ceil(C / 64)),
    };
    const want = await runAndRead(gpu(), serialCall, serial);
    expect(got.every(Number.isFinite)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('refuses lanes that are not a power of two from 8 to 256', () => {
    const dOut = upload(gpu(), new Float32Array(2 * 3 * 400), [2, 3, 400]);
    const dBias = upload(gpu(), new Float32Array(3), [3]);
    for (const lanes of [4, 12, 512])
      expect(() => biasBackward({ dOut, dBias, N: 2, C: 3, S: 400 }, lanes)).toThrow(
        `lanes must be a power of two from 8 to 256, got ${lanes}`,
      );
  });

  it('stays finite and matches for values of +-1e4', async () => {
    const [N, C, S] = [2, 3, 4];
    const xHost = Float32Array.from(
      { length: N * C * S },
      (_, i) => (i % 2 === 0 ? 1e4 : -1e4) + i,
    );
    const biasHost = new Float32Array([1e4, -1e4, 0.5]);
    for (const activation of ['none', 'sigmoid', 'tanh'] as const) {
      const x = upload(gpu(), xHost, [N, C, S]);
      const got = await runAndRead(
        gpu(),
        biasAddForward({ x, bias: upload(gpu(), biasHost, [C]), N, C, S, activation }),
        x,
      );
      const want = Float32Array.from(xHost);
      biasAddForwardCpu({ x: want, bias: biasHost, N, C, S, activation });
      expect(got.every(Number.isFinite)).toBe(true);
      expectAllClose(got, want, forwardTol, activation);
    }
  });

  it('forward covers a grid past 65535 workgroups', async () => {
    const [N, C, S] = [65536 * 64 + 5, 1, 1]; // 65537 workgroups of 64: the grid spills into y
    const xHost = randomFloats(N, 5, -1, 1);
    const x = guardedOutput(gpu(), [N, C, S]);
    writeTensor(gpu(), x.tensor, xHost);
    const call = biasAddForward({ x: x.tensor, bias: upload(gpu(), [0.25], [1]), N, C, S });
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, x.tensor);
    biasAddForwardCpu({ x: xHost, bias: new Float32Array([0.25]), N, C, S });
    expectAllClose(got, xHost, { atol: 0, rtol: 0 });
    await x.check();
  });

  it('backward covers more than 65535 channels (one workgroup each)', async () => {
    const [N, C, S] = [2, 65536 + 7, 1];
    const dOutHost = randomFloats(N * C * S, 9);
    const dBias = guardedOutput(gpu(), [C]);
    const serial = biasBackward({
      dOut: upload(gpu(), dOutHost, [N, C, S]),
      dBias: dBias.tensor,
      N,
      C,
      S,
    });
    expect(serial.entryPoint).toBe('biasBackwardSerial'); // 2 terms per channel
    // The workgroup-tree entry point, one workgroup per channel, as channels of many terms take.
    const call = {
      ...serial,
      entryPoint: 'biasBackward',
      constants: { workgroupSize: 8 },
      workgroups: grid1d(C),
    };
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const got = await runAndRead(gpu(), call, dBias.tensor);
    const want = new Float32Array(C);
    biasBackwardCpu({ dOut: dOutHost, dBias: want, N, C, S });
    // Two float32 terms: the sum is the correctly rounded float64 sum, up to one rounding.
    expectAllClose(got, want, { atol: 0, rtol: 2 ** -23 });
    await dBias.check();
  });

  it('refuses wrong shapes', () => {
    const x = upload(gpu(), new Float32Array(12), [12]);
    const bias = upload(gpu(), new Float32Array(3), [3]);
    expect(() => biasAddForward({ x, bias, N: 2, C: 3, S: 3 })).toThrow(/x has 12 elements/);
    expect(() => biasAddForward({ x, bias, N: 3, C: 4, S: 1 })).toThrow(/bias has 3 elements/);
    expect(() => biasBackward({ dOut: x, dBias: bias, N: 0, C: 3, S: 4 })).toThrow(/N = 0/);
  });
});

describe('bias race detector', () => {
  // biasBackward: 15 values per channel over 8 invocations, every tree level used.
  // biasBackwardQuads: S = 8 is 2 vec4s per row, 4 rows per step, 2 idle lanes.
  const cases = [
    { entryPoint: 'biasBackward', N: 3, C: 2, S: 5 },
    { entryPoint: 'biasBackwardQuads', N: 3, C: 2, S: 8 },
  ];
  type Case = (typeof cases)[number];
  /** Runs wgsl_reflect's lockstep interpreter over the entry with 8 invocations per workgroup. */
  function detect(
    code: string,
    { entryPoint, N, C, S }: Case,
    dOut: Float32Array,
    dBias: Float32Array,
  ): ReturnType<typeof detectRaces> {
    const bindGroups = {
      0: { 0: dOut.buffer, 1: dBias.buffer, 2: { uniform: biasParams.pack({ N, C, S }) } },
    };
    return detectRaces(code, entryPoint, [C, 1, 1], bindGroups, {
      constants: { workgroupSize: 8 },
    });
  }

  it.each(cases)('$entryPoint has no races and computes the sums', (c) => {
    const { N, C, S } = c;
    const dOut = randomFloats(N * C * S, 21);
    const dBias = new Float32Array(C).fill(NaN);
    const result = detect(biasShader.code, c, dOut, dBias);
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    // The interpreter wrote into our buffer: proof that it ran the reduction on these bindings.
    const want = new Float32Array(C);
    biasBackwardCpu({ dOut, dBias: want, N, C, S });
    expectAllClose(dBias, want, dotTolerance(N * S, N * S));
  });

  it.each(cases)(
    '$entryPoint reports races once the tree loses a barrier (the detector sees these bindings)',
    (c) => {
      const code = biasShader.code;
      const at = code.lastIndexOf('workgroupBarrier();');
      const racy = code.slice(0, at) + code.slice(at + 'workgroupBarrier();'.length);
      const result = detect(racy, c, randomFloats(c.N * c.C * c.S, 22), new Float32Array(c.C));
      expect(result.races.length).toBeGreaterThan(0);
    },
  );
});
