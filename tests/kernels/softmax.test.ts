/** softmax.wgsl: attention's row softmax with a fused scale and causal mask, and its backward. */
import { describe, expect, it } from 'vitest';
import { randomFloats } from '../../src/base/random';
import { uploadTensor } from '../../src/gpu/buffers';
import type { GpuTensor } from '../../src/gpu/tensor';
import { softmaxBackward, softmaxForward } from '../../src/kernels/softmax';
import { softmaxBackwardCpu, softmaxForwardCpu } from '../../src/kernels/softmax.cpu';
import { expectAllClose, type Tolerance } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { guardedOutput } from '../helpers/sentinel';

const gpu = useTestGpu();

/** A float32 ulp is at most this times the value (normal range); 2^-24 is the unit roundoff. */
const ULP = 2 ** -23;
const U = 2 ** -24;

/** Columns j > r % L of row r are masked when causal: the [rows, L] indices that must hold 0. */
function maskedIndices(rows: number, L: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let j = (r % L) + 1; j < L; j++) out.push(r * L + j);
  return out;
}

describe('softmax twin', () => {
  const log = Math.log;
  it('matches hand-computed rows, not causal', () => {
    // scale 0.5. Row 0: z = [ln 2, 0, ln 5] -> exp = [2, 1, 5], sum 8 -> [1/4, 1/8, 5/8].
    // Row 1: z = [5e3, 5e3, -5e3]: stable only if the max is subtracted -> [1/2, 1/2, 0].
    const x = new Float64Array([2 * log(2), 0, 2 * log(5), 1e4, 1e4, -1e4]);
    const y = new Float64Array(6);
    softmaxForwardCpu({ x, y, rows: 2, L: 3, scale: 0.5, causal: false });
    expectAllClose(y, [0.25, 0.125, 0.625, 0.5, 0.5, 0], { atol: 1e-15, rtol: 0 });
  });

  it('matches hand-computed rows, causal: two [3, 3] score matrices', () => {
    // scale 0.5; row r keeps columns j <= r % 3, the rest are exactly 0 whatever x holds there.
    // Rows 0 and 3 keep one column -> 1. Row 1: z = [0, ln 3] -> [1/4, 3/4]. Row 2: z = [ln 2, 0,
    // ln 5] -> [1/4, 1/8, 5/8].
    // Row 4: [1e4, 1e4] kept -> [1/2, 1/2]. Row 5: all equal -> 1/3 each.
    const x = new Float64Array([
      ...[7, 9, 9, 0, 2 * log(3), 100, 2 * log(2), 0, 2 * log(5)],
      ...[-1e4, 5, 5, 1e4, 1e4, 1e4, 0, 0, 0],
    ]);
    const y = new Float64Array(18);
    softmaxForwardCpu({ x, y, rows: 6, L: 3, scale: 0.5, causal: true });
    const third = 1 / 3;
    const want = [1, 0, 0, 0.25, 0.75, 0, 0.25, 0.125, 0.625, 1, 0, 0, 0.5, 0.5, 0];
    expectAllClose(y, [...want, third, third, third], { atol: 1e-15, rtol: 0 });
  });

  it('backward: hand-computed', () => {
    // y = [1/4, 3/4], dY = [1, 3], scale 2: <y, dY> = 1/4 + 9/4 = 5/2,
    // dX = 2 * [1/4 * (1 - 5/2), 3/4 * (3 - 5/2)] = [-3/4, 3/4] (a softmax gradient sums to 0).
    // A causal row t = 0: y = [1, 0, 0], <y, dY> = dY_0, so every dX is 0.
    const dX = new Float64Array(5);
    const args = { rows: 1, scale: 2 };
    softmaxBackwardCpu({
      ...args,
      L: 2,
      y: Float64Array.of(0.25, 0.75),
      dY: Float64Array.of(1, 3),
      dX,
    });
    const dXMasked = dX.subarray(2);
    softmaxBackwardCpu({
      ...args,
      L: 3,
      y: Float64Array.of(1, 0, 0),
      dY: Float64Array.of(5, -2, 7),
      dX: dXMasked,
    });
    expectAllClose(dX, [-0.75, 0.75, 0, 0, 0], { atol: 1e-15, rtol: 0 });
  });

  it.each([
    [3, 5, 1 / Math.sqrt(3), false],
    [8, 4, 0.7, true], // two [4, 4] matrices
  ])(
    'backward equals central differences, rows %i L %i scale %f causal %s',
    (rows, L, scale, causal) => {
      const x = toF64(randomFloats(rows * L, rows + L, -3, 3));
      const w = toF64(randomFloats(rows * L, 7, -1, 1));
      const y = new Float64Array(rows * L);
      const loss = (): number => {
        softmaxForwardCpu({ x, y, rows, L, scale, causal });
        return weightedSum(y, w);
      };
      const numeric = numericalGradient(loss, x);
      loss(); // y at the unperturbed x
      const dX = new Float64Array(rows * L);
      softmaxBackwardCpu({ y, dY: w, dX, rows, L, scale });
      expectAllClose(dX, numeric, { atol: 1e-8, rtol: 1e-6 }, 'dX');
    },
  );
});

/**
 * Forward, GPU against the float64 twin: |got - want| <= atol + rtol·want. With a = scale x - m
 * (<= 0) and e = exp(a):
 * - exp is not correctly rounded: WGSL allows 3 + 2|a| ulp, i.e. (3 + 2|a|)·2^-23 relative; the
 *   subtraction rounds a by |a|·2^-24, which exp turns into as much relative error: e is within
 *   (3 + 2.5|a|)·2^-23;
 * - scale·x rounds unless scale is a power of two: z and m move by 2^-24·|z| each, a by up to
 *   p = 2^-23·max|z|, and e by p relative (softmax's own conditioning in float32, not the kernel's);
 * - sumExp adds positive terms, so it is within their weighted mean error plus the in-order sum's
 *   (L - 1)·2^-24 (tests/helpers/sumBound); as sumExp >= ~1 (the max's term) and |a|·e^a <= 1/e,
 *   the 2.5|a| part weighs at most 2.5·L/e ulp: (3 + 1.42 L)·2^-23 + p in all;
 * - the division: 2.5 ulp.
 * So y = e / sumExp is within (3 + 3 + 2.5 + 1.42 L)·2^-23 + 2p relative, rounded up to (9 + 1.5 L),
 * except y's own 2.5|a|·2^-23 part, which is at most 2.5/e·2^-23 absolute (y <= e^a): atol
 * 2^-23, which also absorbs results below float32's normal range (flushed or not). For L = 130 the
 * rtol is 2.4e-5; a wrong max, a missing column or a wrong mask moves y by far more.
 */
function forwardTolerance(L: number, maxAbsZ: number, scaleIsPowerOfTwo: boolean): Tolerance {
  const p = scaleIsPowerOfTwo ? 0 : ULP * maxAbsZ;
  return { atol: ULP, rtol: (9 + 1.5 * L) * ULP + 2 * p };
}

/**
 * Backward, GPU against the float64 twin on the same float32 y and dY: the dot <y, dY> in float32
 * is within gamma(L)·sum_k |y_k dY_k| (Higham, Accuracy and Stability of Numerical Algorithms,
 * sec. 3.1), which dX_j = scale·y_j·(dY_j - dot) carries times scale·y_j <= scale (atol, worst row);
 * the subtraction and the two products round once each, 3·2^-24 relative (rtol 4·2^-24).
 */
function backwardTolerance(
  y: Float32Array,
  dY: Float32Array,
  rows: number,
  L: number,
  scale: number,
): Tolerance {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let absDot = 0;
    for (let j = r * L; j < (r + 1) * L; j++) absDot += Math.abs((y[j] ?? 0) * (dY[j] ?? 0));
    worst = Math.max(worst, absDot);
  }
  const lu = L * U;
  return { atol: scale * (lu / (1 - lu)) * worst, rtol: 4 * U };
}

interface Case {
  rows: number;
  L: number;
  causal: boolean;
  scale: number;
  /** Largest |scale·x|: x is uniform in [-range/scale, range/scale). */
  range: number;
}

/** Runs the forward into a fresh NaN-filled, guarded output and returns what it wrote. */
async function gpuForward(x: GpuTensor, c: Case): Promise<Float32Array> {
  const y = guardedOutput(gpu(), [c.rows, c.L]);
  const got = await runAndRead(gpu(), softmaxForward({ ...c, x, y: y.tensor }), y.tensor);
  await y.check();
  return got;
}

async function gpuBackward(y: Float32Array, dY: Float32Array, c: Case): Promise<Float32Array> {
  const dX = guardedOutput(gpu(), [c.rows, c.L]);
  const shape = [c.rows, c.L];
  const call = softmaxBackward({
    ...c,
    y: upload(gpu(), y, shape),
    dY: upload(gpu(), dY, shape),
    dX: dX.tensor,
  });
  const got = await runAndRead(gpu(), call, dX.tensor);
  await dX.check();
  return got;
}

/** |sum_j y_j - 1| per row: the computed e_j over their own float32 sum, so exp's error cancels. */
function rowSumErrors(y: Float32Array, rows: number, L: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let sum = 0;
    for (let j = r * L; j < (r + 1) * L; j++) sum += y[j] ?? NaN;
    return Math.abs(sum - 1);
  });
}

async function checkCase(c: Case, seed: number): Promise<void> {
  const { rows, L, causal, scale, range } = c;
  const xHost = randomFloats(rows * L, seed, -range / scale, range / scale);
  const x = upload(gpu(), xHost, [rows, L]);
  const want = new Float64Array(rows * L);
  softmaxForwardCpu({ ...c, x: xHost, y: want });
  const got = await gpuForward(x, c);
  const powerOfTwo = Number.isInteger(Math.log2(scale));
  expectAllClose(got, want, forwardTolerance(L, range, powerOfTwo), 'y');
  if (causal) expect(maskedIndices(rows, L).filter((i) => got[i] !== 0)).toEqual([]);
  // Sum of e_j (1 + d_j) / S' with S' the float32 sum of the e_j: within the sum's (L - 1)·2^-24 and
  // the division's 2.5 ulp = 5·2^-24, whatever exp's error (the same e_j are on both sides).
  const sumTol = (L + 5) * U;
  expect(rowSumErrors(got, rows, L).filter((e) => !(e <= sumTol))).toEqual([]);

  const dY = randomFloats(rows * L, seed + 1, -1, 1);
  const dXWant = new Float64Array(rows * L);
  softmaxBackwardCpu({ ...c, y: got, dY, dX: dXWant });
  const dXGot = await gpuBackward(got, dY, c);
  expectAllClose(dXGot, dXWant, backwardTolerance(got, dY, rows, L, scale), 'dX');
  if (causal) expect(maskedIndices(rows, L).filter((i) => dXGot[i] !== 0)).toEqual([]);

  // Deterministic: a second run gives the same bits, forward and backward.
  const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
  expect(bits(await gpuForward(x, c))).toEqual(bits(got));
  expect(bits(await gpuBackward(got, dY, c))).toEqual(bits(dXGot));
}

describe('softmax on the GPU vs the twin', () => {
  // [rows, L, causal]: one element, a single row, one causal [7, 7] matrix, three causal [13, 13]
  // matrices, rows not a multiple of the 64-row workgroup, L past 128.
  const shapes = [
    [1, 1, false],
    [1, 5, false],
    [7, 7, true],
    [3 * 13, 13, true],
    [100, 33, false],
    [64, 130, false],
  ] as const;
  // Scores scale·x within +-3 (typical), +-80 (exp(80) overflows nothing once the max is
  // subtracted, but e^-160 underflows) and +-1e4 (one column dominates each row).
  const ranges = [3, 80, 1e4];
  const scale = 1 / Math.sqrt(16); // 0.25, a power of two: scale·x is exact in float32
  it.each(
    shapes.flatMap(([rows, L, causal]) => ranges.map((range) => [rows, L, causal, range] as const)),
  )('rows %i L %i causal %s, scores within +-%f', async (rows, L, causal, range) => {
    await checkCase({ rows, L, causal, scale, range }, rows * L + range);
  });

  // 1/sqrt(12) is not a power of two: scale·x rounds, and the tolerance grows with max|scale·x|.
  it.each(shapes.filter(([rows]) => rows > 1))(
    'rows %i L %i causal %s, scale float32(1/sqrt(12)), scores within +-80',
    async (rows, L, causal) => {
      await checkCase(
        { rows, L, causal, scale: Math.fround(1 / Math.sqrt(12)), range: 80 },
        rows + 3 * L,
      );
    },
  );

  it('dispatches past 65535 workgroups', async () => {
    const c = { rows: 64 * 65535 + 1, L: 2, causal: false, scale: 0.25 };
    const xHost = randomFloats(c.rows * c.L, 91, -8, 8);
    const y = guardedOutput(gpu(), [c.rows, c.L]);
    const call = softmaxForward({ ...c, x: upload(gpu(), xHost, [c.rows, c.L]), y: y.tensor });
    expect(call.workgroups[1]).toBeGreaterThan(1); // the grid spilled into y
    const got = await runAndRead(gpu(), call, y.tensor);
    await y.check();
    const want = new Float64Array(xHost.length);
    softmaxForwardCpu({ ...c, x: xHost, y: want });
    expectAllClose(got, want, forwardTolerance(c.L, 2, true), 'y');
  });
});

describe('softmax argument checks', () => {
  const tensor = (count: number, dtype: 'f32' | 'i32' = 'f32'): GpuTensor =>
    uploadTensor(gpu(), dtype === 'f32' ? new Float32Array(count) : new Int32Array(count), [count]);

  it('refuses wrong counts, a causal shape that is not [..., L, L], and a bad scale', () => {
    const x = tensor(12);
    const y = tensor(12);
    const ok = { x, y, rows: 4, L: 3, scale: 0.5, causal: false };
    expect(() => softmaxForward(ok)).not.toThrow();
    expect(() => softmaxForward({ ...ok, y: tensor(11) })).toThrow(
      /y has 11 elements.*expected 12/,
    );
    expect(() => softmaxForward({ ...ok, causal: true })).toThrow(
      /rows \(4\) to be a multiple of L \(3\)/,
    );
    for (const scale of [0, -1, NaN, Infinity, 1e-50, 1e39])
      expect(() => softmaxForward({ ...ok, scale }), `scale ${scale}`).toThrow(
        /scale = .*finite float32 > 0/,
      );
    expect(() => softmaxForward({ ...ok, L: 0 })).toThrow(/L = 0/);
    expect(() => softmaxForward({ ...ok, x: tensor(12, 'i32') })).toThrow(/x is i32, expected f32/);
    const back = { y, dY: tensor(12), dX: tensor(12), rows: 4, L: 3, scale: 0.5 };
    expect(() => softmaxBackward(back)).not.toThrow();
    expect(() => softmaxBackward({ ...back, dY: tensor(6) })).toThrow(/dY has 6 elements/);
    expect(() => softmaxBackward({ ...back, scale: NaN })).toThrow(/scale = NaN/);
  });
});
