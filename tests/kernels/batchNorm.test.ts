import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../src/gpu/buffers';
import { grid1d } from '../../src/gpu/dispatch';
import {
  SERIAL_MAX_TERMS,
  batchNormBackward,
  batchNormForward,
  batchNormParams,
  batchNormRunningUpdate,
  batchNormShader,
  batchNormStats,
  batchNormStatsParams,
} from '../../src/kernels/batchNorm';
import {
  batchNormBackwardCpu,
  batchNormForwardCpu,
  batchNormRunningUpdateCpu,
  batchNormStatsCpu,
} from '../../src/kernels/batchNorm.cpu';
import { randomFloats } from '../../src/base/random';
import { expectAllClose, type Tolerance } from '../helpers/allclose';
import { toF64 } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { guardedOutput } from '../helpers/sentinel';

/** float32 machine epsilon: one rounding errs by at most half of it, relative. */
const EPS = 2 ** -23;
const gpu = useTestGpu();

/** Per channel, sum over n, s of |f(i)| for the flat indices i of that channel. */
function channelAbsSums(N: number, C: number, S: number, f: (i: number) => number): Float64Array {
  const sums = new Float64Array(C);
  for (let i = 0; i < N * C * S; i++) {
    const c = Math.floor(i / S) % C;
    sums[c] = (sums[c] ?? 0) + Math.abs(f(i));
  }
  return sums;
}

/**
 * float32 additions along the longest chain that builds one channel's sum on the GPU: the whole
 * channel in the serial variant; a lane's strided share, then the 256-lane tree's 8 levels. A sum
 * errs by at most chain * EPS * sum|terms| (each addition rounds by EPS/2 of a partial sum).
 */
function additionChain(M: number, lanes = 256): number {
  return M <= SERIAL_MAX_TERMS ? M : Math.ceil(M / lanes) + Math.log2(lanes);
}

/** Each tree runs at a GPU's 256 lanes per channel and a CPU "GPU"'s 8 (channelSumLanes). */
const LANES = [256, 8];
const withLanes = <T extends unknown[]>(cases: T[]): [...T, number][] =>
  cases.flatMap((c) => LANES.map((lanes): [...T, number] => [...c, lanes]));

const at = (a: ArrayLike<number>, i: number): number => a[i] ?? NaN;
const channelGrads = (C: number) => ({ dWeight: new Float64Array(C), dBias: new Float64Array(C) });
const maxOf = (a: ArrayLike<number>): number => Math.max(...Array.from(a, Math.abs));

// [N, C, S]: the serial variant (M <= 256) and the trees, rows of every width.
const shapes: [number, number, number][] = [
  [1, 1, 5], // batch 1
  [3, 5, 49], // 147 values per channel, serial
  [4, 70, 3], // 70 channels: two workgroups of the serial variant
  [130, 3, 1], // BatchNorm1d, M = N = 130, serial
  [7, 2, 97], // M = 679 > 256, not a multiple of 256: tree, 97-lane rows, 62 idle lanes
  [300, 2, 1], // BatchNorm1d through the tree: one lane per row, 256 rows per step
  [2, 3, 300], // rows wider than the workgroup: 256 lanes per row; elementwise by rows of 75 vec4s
  [1, 2, 32], // batch 1; elementwise by rows of 8 vec4s, the fewest that take rows
  [3, 4, 196], // rows of 49 vec4s: 56 lanes, 7 idle
];

/** The elementwise passes run a workgroup per row when rows split into at least 8 vec4s. */
function elementwiseEntry(entryPoint: string, S: number): string {
  return S % 4 === 0 && S / 4 >= 8 ? `${entryPoint}Rows` : entryPoint;
}

/** Uploads x and runs batchNormStats into guarded outputs; returns what the GPU wrote. */
async function gpuStats(xHost: Float32Array, N: number, C: number, S: number, lanes: number) {
  const [mean, variance] = [guardedOutput(gpu(), [C]), guardedOutput(gpu(), [C])];
  const x = upload(gpu(), xHost, [N, C, S]);
  const args = { x, mean: mean.tensor, variance: variance.tensor, N, C, S };
  const call = batchNormStats(args, lanes);
  expect(call.entryPoint).toBe(
    N * S > SERIAL_MAX_TERMS ? 'batchNormStats' : 'batchNormStatsSerial',
  );
  if (call.entryPoint === 'batchNormStats')
    expect(call.constants?.workgroupSize).toBeLessThanOrEqual(lanes);
  const gotVariance = await runAndRead(gpu(), call, variance.tensor);
  const gotMean = await readFloat32(gpu(), mean.tensor);
  await Promise.all([mean.check(), variance.check()]);
  return { mean: gotMean, variance: gotVariance };
}

/**
 * The corrected two-pass statistics: the mean errs by the sum's chain * EPS * max|x - mean| plus
 * its own rounding; the variance, a sum of positive terms each rounded ~3 times (subtract,
 * square, add), by (chain + 3) * EPS relative, times 2 for the final division and margin.
 */
function statsTolerances(M: number, maxDeviation: number, lanes = 256) {
  const chain = additionChain(M, lanes);
  return {
    mean: { atol: 2 * chain * EPS * maxDeviation, rtol: 2 * EPS },
    variance: { atol: 1e-30, rtol: 2 * (chain + 3) * EPS },
  };
}

function twinStats(xHost: Float32Array, N: number, C: number, S: number) {
  const [mean, variance] = [new Float64Array(C), new Float64Array(C)];
  batchNormStatsCpu({ x: xHost, mean, variance, N, C, S });
  return { mean, variance };
}

describe('batchNormStats on the GPU', () => {
  it.each(withLanes(shapes))(
    'matches the float64 twin, N = %i, C = %i, S = %i, %i lanes',
    async (N, C, S, lanes) => {
      const xHost = randomFloats(N * C * S, N + 10 * C + S, -3, 3);
      const got = await gpuStats(xHost, N, C, S, lanes);
      const want = twinStats(xHost, N, C, S);
      const tol = statsTolerances(N * S, 6, lanes);
      expectAllClose(got.mean, want.mean, tol.mean, 'mean');
      expectAllClose(got.variance, want.variance, tol.variance, 'variance');
    },
  );

  it.each(
    withLanes<[number, number, number]>([
      [7, 2, 97],
      [130, 3, 1],
    ]),
  )(
    'keeps the variance of x ~ 1000 + U(-1, 1), where E[x^2] - E[x]^2 fails, N = %i, C = %i, S = %i, %i lanes',
    async (N, C, S, lanes) => {
      const xHost = randomFloats(N * C * S, 77, -1, 1).map((v) => 1000 + v);
      const got = await gpuStats(xHost, N, C, S, lanes);
      const want = twinStats(xHost, N, C, S);
      const tol = statsTolerances(N * S, 2, lanes);
      expectAllClose(got.variance, want.variance, tol.variance, 'variance');
      expectAllClose(got.mean, want.mean, tol.mean, 'mean');
      // The same tolerance rejects the one-pass formula in float32: E[x^2] ~ 1e6 carries an
      // absolute rounding of ~0.06 per addition, against a variance of ~1/3.
      const naive = naiveVarianceF32(xHost, N, C, S);
      const naiveError = Math.max(...naive.map((v, c) => Math.abs(v / at(want.variance, c) - 1)));
      expect(naiveError).toBeGreaterThan(100 * tol.variance.rtol);
    },
  );

  it('covers more than 65535 channels with the tree (grid spilling into y)', async () => {
    const [N, C, S] = [2, 65536 + 7, 1];
    const xHost = randomFloats(N * C * S, 91);
    const [mean, variance] = [guardedOutput(gpu(), [C]), guardedOutput(gpu(), [C])];
    const x = upload(gpu(), xHost, [N, C, S]);
    const serial = batchNormStats({ x, mean: mean.tensor, variance: variance.tensor, N, C, S });
    const call = {
      ...serial,
      entryPoint: 'batchNormStats',
      constants: { workgroupSize: 8 },
      workgroups: grid1d(C),
    };
    expect(call.workgroups[1]).toBeGreaterThan(1);
    const gotVariance = await runAndRead(gpu(), call, variance.tensor);
    const want = twinStats(xHost, N, C, S);
    // Two values per channel: a handful of roundings of numbers below 1.
    expectAllClose(await readFloat32(gpu(), mean.tensor), want.mean, {
      atol: 4 * EPS,
      rtol: 4 * EPS,
    });
    expectAllClose(gotVariance, want.variance, { atol: 4 * EPS, rtol: 16 * EPS });
    await Promise.all([mean.check(), variance.check()]);
  });
});

/** mean(x^2) - mean(x)^2 accumulated in float32, n outer, s inner: what the kernel must not do. */
function naiveVarianceF32(x: Float32Array, N: number, C: number, S: number): number[] {
  const f = Math.fround;
  return Array.from({ length: C }, (_, c) => {
    let [sum, squares] = [0, 0];
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const v = at(x, (n * C + c) * S + s);
        [sum, squares] = [f(sum + v), f(squares + f(v * v))];
      }
    }
    const mean = f(sum / (N * S));
    return f(f(squares / (N * S)) - f(mean * mean));
  });
}

/** Random per-channel parameters and statistics (the twin's, rounded to float32). */
function channelInputs(xHost: Float32Array, N: number, C: number, S: number, seed: number) {
  const stats = twinStats(xHost, N, C, S);
  return {
    mean: Float32Array.from(stats.mean),
    variance: Float32Array.from(stats.variance),
    weight: randomFloats(C, seed, -2, 2),
    bias: randomFloats(C, seed + 1),
  };
}

interface ShapeEps {
  N: number;
  C: number;
  S: number;
  eps: number;
}

/** max over elements of |xhat * weight| + |bias|: the size of the forward's rounded terms. */
function affineMagnitude(
  x: Float32Array,
  host: ReturnType<typeof channelInputs>,
  { N, C, S, eps }: ShapeEps,
): number {
  let magnitude = 0;
  for (let i = 0; i < N * C * S; i++) {
    const c = Math.floor(i / S) % C;
    const xhat = (at(x, i) - at(host.mean, c)) / Math.sqrt(at(host.variance, c) + eps);
    const term = Math.abs(xhat * at(host.weight, c)) + Math.abs(at(host.bias, c));
    magnitude = Math.max(magnitude, term);
  }
  return magnitude;
}

describe('batchNormForward on the GPU', () => {
  it.each(shapes)('matches the twin, N = %i, C = %i, S = %i', async (N, C, S) => {
    const xHost = randomFloats(N * C * S, 3 * N + S, -3, 3);
    const host = channelInputs(xHost, N, C, S, C);
    const eps = 1e-5;
    for (const activation of ['none', 'relu'] as const) {
      const y = guardedOutput(gpu(), [N, C, S]);
      const tensors = {
        x: upload(gpu(), xHost, [N, C, S]),
        mean: upload(gpu(), host.mean, [C]),
        variance: upload(gpu(), host.variance, [C]),
        weight: upload(gpu(), host.weight, [C]),
        bias: upload(gpu(), host.bias, [C]),
      };
      const call = batchNormForward({ ...tensors, y: y.tensor, N, C, S, eps, activation });
      expect(call.entryPoint).toBe(elementwiseEntry('batchNormForward', S));
      const got = await runAndRead(gpu(), call, y.tensor);
      const want = new Float64Array(N * C * S);
      batchNormForwardCpu({ ...host, x: xHost, y: want, N, C, S, eps, activation });
      // Same float32 inputs; the GPU rounds x - mean, inverseSqrt (2 ulp), two products and the
      // add: within 8 EPS of the largest |xhat * weight| + |bias| (the activation is exact).
      const magnitude = affineMagnitude(xHost, host, { N, C, S, eps });
      expectAllClose(got, want, { atol: 8 * EPS * magnitude, rtol: 8 * EPS }, activation);
      await y.check();
    }
  });
});

describe('batchNormRunningUpdate on the GPU', () => {
  it('matches the twin over 70 channels', async () => {
    const [C, count, momentum] = [70, 147, 0.1];
    const host = {
      mean: randomFloats(C, 41, -3, 3),
      variance: randomFloats(C, 42, 0, 4),
      runningMean: randomFloats(C, 43),
      runningVar: randomFloats(C, 44, 0.5, 2),
    };
    const tensors = {
      mean: upload(gpu(), host.mean, [C]),
      variance: upload(gpu(), host.variance, [C]),
      runningMean: upload(gpu(), host.runningMean, [C]),
      runningVar: upload(gpu(), host.runningVar, [C]),
    };
    const call = batchNormRunningUpdate({ ...tensors, C, count, momentum });
    const gotVar = await runAndRead(gpu(), call, tensors.runningVar);
    const gotMean = await readFloat32(gpu(), tensors.runningMean);
    const want = { runningMean: toF64(host.runningMean), runningVar: toF64(host.runningVar) };
    batchNormRunningUpdateCpu({ ...host, ...want, C, count, momentum });
    // A few roundings (count/(count-1), products, mix) of values below 5: 8 EPS of 5, absolute.
    const tol = { atol: 40 * EPS, rtol: 8 * EPS };
    expectAllClose(gotMean, want.runningMean, tol, 'runningMean');
    expectAllClose(gotVar, want.runningVar, tol, 'runningVar');
  });

  it('refuses fewer than 2 values per channel, as torch does in training', () => {
    const t = upload(gpu(), [1, 2], [2]);
    const args = { mean: t, variance: t, runningMean: t, runningVar: t, C: 2, momentum: 0.1 };
    expect(() => batchNormRunningUpdate({ ...args, count: 1 })).toThrow(
      /count = 1 values per channel; training-mode batch norm needs at least 2/,
    );
    expect(() => batchNormRunningUpdate({ ...args, count: 2 })).not.toThrow();
  });
});

/** Random inputs of a backward, with the twin's float32 statistics of x. */
function backwardInputs(N: number, C: number, S: number) {
  const xHost = randomFloats(N * C * S, 5 * N + C, -3, 3);
  const dYHost = randomFloats(N * C * S, 7 * S + C, -1, 1);
  return { xHost, dYHost, ...channelInputs(xHost, N, C, S, N + S) };
}

/**
 * Per channel c, with chain = additionChain(M): dBias errs by chain * EPS * sum|dY|, dWeight by
 * (chain + 3) * EPS * sum|dY xhat| (x - mean and the product round before the sum, invStd after).
 * dX = w invStd (dY - dBias/M - xhat dWeight/M) adds those errors divided by M and a few
 * roundings of each term. Twice that, maxed over channels.
 */
function backwardTolerances(host: ReturnType<typeof backwardInputs>, s: ShapeEps, lanes: number) {
  const { N, C, S, eps } = s;
  const M = N * S;
  const chain = additionChain(M, lanes);
  const invStd = (c: number): number => 1 / Math.sqrt(at(host.variance, c) + eps);
  const xhat = (i: number): number => {
    const c = Math.floor(i / S) % C;
    return (at(host.xHost, i) - at(host.mean, c)) * invStd(c);
  };
  const dBiasAbs = channelAbsSums(N, C, S, (i) => at(host.dYHost, i));
  const dWeightAbs = channelAbsSums(N, C, S, (i) => at(host.dYHost, i) * xhat(i));
  const dBiasErr = dBiasAbs.map((v) => chain * EPS * v);
  const dWeightErr = dWeightAbs.map((v) => (chain + 3) * EPS * v);
  const maxXhat = maxOf(Float64Array.from({ length: N * C * S }, (_, i) => xhat(i)));
  const dXErr = Array.from({ length: C }, (_, c) => {
    // the sizes of dY, dBias/M and xhat dWeight/M, each rounded a few times
    const terms = maxOf(host.dYHost) + (at(dBiasAbs, c) + maxXhat * at(dWeightAbs, c)) / M;
    const fromSums = (at(dBiasErr, c) + maxXhat * at(dWeightErr, c)) / M;
    return Math.abs(at(host.weight, c)) * invStd(c) * (fromSums + 8 * EPS * terms);
  });
  const tol = (err: ArrayLike<number>): Tolerance => ({ atol: 2 * maxOf(err), rtol: 4 * EPS });
  return { dBias: tol(dBiasErr), dWeight: tol(dWeightErr), dX: tol(dXErr) };
}

describe('batchNormBackward on the GPU', () => {
  it.each(withLanes(shapes))(
    'matches the twin, N = %i, C = %i, S = %i, %i lanes',
    async (N, C, S, lanes) => {
      const host = backwardInputs(N, C, S);
      const eps = 1e-5;
      const out = {
        dWeight: guardedOutput(gpu(), [C]),
        dBias: guardedOutput(gpu(), [C]),
        dX: guardedOutput(gpu(), [N, C, S]),
      };
      const [data, channel] = [
        (a: Float32Array) => upload(gpu(), a, [N, C, S]),
        (a: Float32Array) => upload(gpu(), a, [C]),
      ];
      const calls = batchNormBackward(
        {
          ...{ x: data(host.xHost), dY: data(host.dYHost), weight: channel(host.weight) },
          ...{ mean: channel(host.mean), variance: channel(host.variance) },
          ...{ dWeight: out.dWeight.tensor, dBias: out.dBias.tensor, dX: out.dX.tensor },
          ...{ N, C, S, eps },
        },
        lanes,
      );
      const reduce =
        N * S > SERIAL_MAX_TERMS ? 'batchNormBackwardReduce' : 'batchNormBackwardReduceSerial';
      const dataEntry = elementwiseEntry('batchNormBackwardData', S);
      expect(calls.map((c) => c.entryPoint)).toEqual([reduce, dataEntry]);
      const got = {
        dX: await runAndRead(gpu(), calls, out.dX.tensor),
        dWeight: await readFloat32(gpu(), out.dWeight.tensor),
        dBias: await readFloat32(gpu(), out.dBias.tensor),
      };
      const want = { dX: new Float64Array(N * C * S), ...channelGrads(C) };
      const { xHost, dYHost, ...channels } = host;
      batchNormBackwardCpu({ x: xHost, dY: dYHost, ...channels, ...want, N, C, S, eps });
      const tol = backwardTolerances(host, { N, C, S, eps }, lanes);
      for (const name of ['dX', 'dWeight', 'dBias'] as const) {
        expectAllClose(got[name], want[name], tol[name], name);
        await out[name].check();
      }
    },
  );
});

describe('batchNorm argument checks', () => {
  it('refuses wrong shapes and eps; omits the dX kernel when dX is not wanted', () => {
    const x = upload(gpu(), new Float32Array(12), [12]);
    const c3 = upload(gpu(), new Float32Array(3), [3]);
    const c4 = upload(gpu(), new Float32Array(4), [4]);
    expect(() => batchNormStats({ x, mean: c3, variance: c3, N: 2, C: 3, S: 3 })).toThrow(
      /x has 12 elements/,
    );
    expect(() => batchNormStats({ x, mean: c3, variance: c4, N: 2, C: 3, S: 2 })).toThrow(
      /variance has 4 elements/,
    );
    const forward = { x, mean: c3, variance: c3, weight: c3, bias: c3, y: x, C: 3, S: 2 };
    expect(() => batchNormForward({ ...forward, N: 0, eps: 1e-5 })).toThrow(/N = 0/);
    expect(() => batchNormForward({ ...forward, N: 2, eps: 0 })).toThrow(/eps = 0/);
    expect(() =>
      batchNormBackward({
        ...{ x, dY: x, mean: c3, variance: c3, weight: c4, dWeight: c3, dBias: c3 },
        ...{ N: 2, C: 3, S: 2, eps: 1e-5 },
      }),
    ).toThrow(/weight has 4 elements/);
    const [data, channel] = [upload(gpu(), new Float32Array(12), [2, 3, 2]), c3];
    const calls = batchNormBackward({
      ...{ x: data, dY: data, mean: channel, variance: channel, weight: channel },
      ...{ dWeight: channel, dBias: channel, N: 2, C: 3, S: 2, eps: 1e-5 },
    });
    expect(calls.map((c) => c.entryPoint)).toEqual(['batchNormBackwardReduceSerial']);
  });
});

describe('batchNorm race detector', () => {
  // 15 values per channel over 8 lanes: every tree level is used, and rows of 5 leave 3 lanes idle.
  const [N, C, S] = [3, 2, 5];
  const options = { constants: { workgroupSize: 8 } };
  const x = randomFloats(N * C * S, 51, -2, 2);

  function detectStats(code: string, mean: Float32Array, variance: Float32Array) {
    const uniform = { uniform: batchNormStatsParams.pack({ N, C, S }) };
    const bindings = { 0: x.buffer, 1: mean.buffer, 2: variance.buffer, 3: uniform };
    return detectRaces(code, 'batchNormStats', [C, 1, 1], { 0: bindings }, options);
  }

  it('batchNormStats has no races and computes the statistics', () => {
    const [mean, variance] = [new Float32Array(C).fill(NaN), new Float32Array(C).fill(NaN)];
    const result = detectStats(batchNormShader.code, mean, variance);
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    // The interpreter wrote our buffers: it ran both passes on these bindings.
    const want = twinStats(x, N, C, S);
    const tol = statsTolerances(N * S, 4);
    expectAllClose(mean, want.mean, tol.mean, 'mean');
    expectAllClose(variance, want.variance, tol.variance, 'variance');
  });

  it('batchNormBackwardReduce has no races and computes the sums', () => {
    const dY = randomFloats(N * C * S, 52);
    const stats = twinStats(x, N, C, S);
    const [mean, variance] = [Float32Array.from(stats.mean), Float32Array.from(stats.variance)];
    const [dWeight, dBias] = [new Float32Array(C).fill(NaN), new Float32Array(C).fill(NaN)];
    const uniform = { uniform: batchNormParams.pack({ N, C, S, eps: 1e-5 }) };
    const bindings = { 0: x.buffer, 1: dY.buffer, 2: mean.buffer, 3: variance.buffer };
    const outputs = { 4: dWeight.buffer, 5: dBias.buffer, 6: uniform };
    const entry = 'batchNormBackwardReduce';
    const groups = { 0: { ...bindings, ...outputs } };
    const result = detectRaces(batchNormShader.code, entry, [C, 1, 1], groups, options);
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    const want = { dWeight: new Float64Array(C), dBias: new Float64Array(C) };
    batchNormBackwardCpu({ x, dY, mean, variance, weight: mean, ...want, N, C, S, eps: 1e-5 });
    // 15 terms below 4 in size: a few dozen EPS of their sum.
    expectAllClose(dBias, want.dBias, { atol: 64 * 15 * EPS, rtol: 0 }, 'dBias');
    expectAllClose(dWeight, want.dWeight, { atol: 64 * 60 * EPS, rtol: 0 }, 'dWeight');
  });

  // workgroupTotal's three barriers: after the stores, between tree steps, after reading the
  // total (before the second pass stores over it). Deleting any one of them is a race.
  it.each([0, 1, 2])('reports races once barrier %i of workgroupTotal is deleted', (which) => {
    const code = batchNormShader.code;
    let pos = code.indexOf('fn workgroupTotal(');
    for (let k = 0; k <= which; k++) pos = code.indexOf('workgroupBarrier();', pos + 1);
    const racy = code.slice(0, pos) + code.slice(pos + 'workgroupBarrier();'.length);
    const result = detectStats(racy, new Float32Array(C), new Float32Array(C));
    expect(result.races.length).toBeGreaterThan(0);
  });
});
