/** embedding.wgsl: token lookup, its deterministic gradient, and the position table's add. */
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { createTensor, uploadTensor } from '../../src/gpu/buffers';
import { biasBackward } from '../../src/kernels/bias';
import { biasBackwardCpu } from '../../src/kernels/bias.cpu';
import {
  embeddingBackward,
  embeddingBackwardNaive,
  embeddingForward,
  embeddingParams,
  embeddingShader,
  positionAddForward,
} from '../../src/kernels/embedding';
import {
  embeddingBackwardCpu,
  embeddingForwardCpu,
  positionAddForwardCpu,
} from '../../src/kernels/embedding.cpu';
import { randomFloats, randomInts } from '../../src/base/random';
import { expectAllClose } from '../helpers/allclose';
import { numericalGradient, toF64, weightedSum } from '../helpers/finiteDiff';
import { runAndRead, upload, useTestGpu } from '../helpers/gpu';
import { inOrderSumAtol } from '../helpers/sumBound';

const gpu = useTestGpu();

/** [rows, cols] -> [cols, rows], for per-column sum bounds. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  return Float32Array.from(
    { length: rows * cols },
    (_, i) => a[(i % rows) * cols + Math.floor(i / rows)] ?? 0,
  );
}

describe('embedding twin', () => {
  it('looks rows up and sums each row gradient over its positions', () => {
    const table = new Float64Array([0, 1, 10, 11, 20, 21]); // V = 3, C = 2
    const tokens = new Uint32Array([2, 0, 2]);
    const out = new Float64Array(6);
    embeddingForwardCpu({ tokens, table, out, N: 3, V: 3, C: 2 });
    expect([...out]).toEqual([20, 21, 0, 1, 20, 21]);
    const dTable = new Float64Array(6).fill(7);
    const dOut = new Float64Array([1, 2, 3, 4, 5, 6]);
    embeddingBackwardCpu({ tokens, dOut, dTable, N: 3, V: 3, C: 2 });
    expect([...dTable]).toEqual([3, 4, 0, 0, 6, 8]); // row 1 never used: zeros
  });

  it('refuses a token outside the vocabulary, naming it', () => {
    const args = { table: new Float64Array(4), out: new Float64Array(4), N: 2, V: 2, C: 2 };
    expect(() => embeddingForwardCpu({ ...args, tokens: new Uint32Array([1, 2]) })).toThrow(
      /token 2 at position 1 is not below the vocabulary size 2/,
    );
  });

  it('the table gradient equals central differences', () => {
    const [N, V, C] = [9, 4, 3];
    const tokens = Uint32Array.from(randomInts(N, 1, V));
    const table = toF64(randomFloats(V * C, 2));
    const w = toF64(randomFloats(N * C, 3));
    const out = new Float64Array(N * C);
    const loss = (): number => {
      embeddingForwardCpu({ tokens, table, out, N, V, C });
      return weightedSum(out, w);
    };
    const dTable = new Float64Array(V * C);
    embeddingBackwardCpu({ tokens, dOut: w, dTable, N, V, C });
    expectAllClose(dTable, numericalGradient(loss, table), { atol: 1e-9, rtol: 1e-7 }, 'dTable');
  });
});

describe('embedding on the GPU vs the twin', () => {
  it.each([
    [1, 1, 1],
    [7, 3, 5],
    [130, 11, 16],
    [2000, 65, 33], // many repeats of each token, two tiles of positions
    [50, 300, 8], // most rows never used
    [2500, 1, 3], // one row: every position matches, tiles full of matches
    [1025, 4, 70], // one position past a tile; C wider than the workgroup
  ])('N=%i V=%i C=%i', async (N, V, C) => {
    const g = gpu();
    const tokens = Uint32Array.from(randomInts(N, N + V, V));
    const table = randomFloats(V * C, 2, -1e3, 1e3);
    const dOutData = randomFloats(N * C, 3, -1e3, 1e3);
    const want = new Float32Array(N * C);
    embeddingForwardCpu({ tokens, table, out: want, N, V, C });
    const tokenT = uploadTensor(g, tokens, [N], { dtype: 'u32' });
    const out = createTensor(g, [N * C]);
    const args = { tokens: tokenT, table: upload(g, table, [V * C]), out, N, V, C };
    expect(await runAndRead(g, embeddingForward(args), out)).toEqual(want); // a copy: exact
    // NaN first: the kernel must write every element, zeros for the rows no position holds
    const dTable = upload(g, new Float32Array(V * C).fill(NaN), [V * C]);
    const backwardArgs = { tokens: tokenT, dOut: upload(g, dOutData, [N * C]), dTable, N, V, C };
    const got = await runAndRead(g, embeddingBackward(backwardArgs), dTable);
    // Against the float64 sums: each element adds its row's k positions in order in float32,
    // within gamma(k - 1)·sum|dOut| over them (tests/helpers/sumBound).
    const dWant = new Float64Array(V * C);
    embeddingBackwardCpu({ tokens, dOut: dOutData, dTable: dWant, N, V, C });
    const absSums = new Float64Array(V * C);
    embeddingBackwardCpu({ tokens, dOut: dOutData.map(Math.abs), dTable: absSums, N, V, C });
    const k = Math.max(
      ...Array.from({ length: V }, (_, v) => tokens.filter((t) => t === v).length),
    );
    const atol = ((k - 1) * 2 ** -24 * Math.max(...absSums)) / (1 - (k - 1) * 2 ** -24);
    expectAllClose(got, dWant, { atol, rtol: 0 }, 'dTable');
    // Exactly: the twin writing into a Float32Array rounds each addition to float32, in the
    // shader's order (an f64 sum of two f32 values rounded to f32 is the correctly rounded f32
    // sum), and the naive entry point adds the same terms in the same order.
    const want32 = new Float32Array(V * C);
    embeddingBackwardCpu({ tokens, dOut: dOutData, dTable: want32, N, V, C });
    expect(got).toEqual(want32);
    expect(await runAndRead(g, embeddingBackwardNaive(backwardArgs), dTable)).toEqual(got);
    for (let v = 0; v < V; v++)
      if (!tokens.includes(v))
        expect(got.subarray(v * C, (v + 1) * C).every((x) => Object.is(x, 0))).toBe(true);
    // reruns: the same bits
    expect(await runAndRead(g, embeddingBackward(backwardArgs), dTable)).toEqual(got);
  });

  it('a token past the vocabulary reads as NaN on the GPU, the other rows unharmed', async () => {
    const g = gpu();
    const tokens = uploadTensor(g, new Uint32Array([0, 5]), [2], { dtype: 'u32' });
    const out = createTensor(g, [2]);
    const args = { tokens, table: upload(g, [3, 4], [2]), out, N: 2, V: 2, C: 1 };
    const got = await runAndRead(g, embeddingForward(args), out);
    expect(got[0]).toBe(3);
    expect(Number.isNaN(got[1])).toBe(true);
  });

  // B = 300 is past bias's SERIAL_MAX_TERMS (256), which S = 1 keeps on the serial path anyway.
  it.each([
    [1, 1],
    [5, 21],
    [300, 130],
  ])('the position add and its table gradient (biasBackward over B = %i, P = %i)', async (B, P) => {
    const g = gpu();
    const x = randomFloats(B * P, B + P, -1e3, 1e3);
    const pos = randomFloats(P, 2, -1e3, 1e3);
    const want = new Float32Array(B * P);
    positionAddForwardCpu({ x, pos, out: want, B, P });
    const out = createTensor(g, [B * P]);
    const add = positionAddForward({
      x: upload(g, x, [B * P]),
      pos: upload(g, pos, [P]),
      out,
      B,
      P,
    });
    // one float32 addition, as the twin's store into a Float32Array rounds it: exact
    expect(await runAndRead(g, add, out)).toEqual(want);
    const dPosWant = new Float64Array(P);
    biasBackwardCpu({ dOut: x, dBias: dPosWant, N: B, C: P, S: 1 });
    const dPos = createTensor(g, [P]);
    const got = await runAndRead(
      g,
      biasBackward({ dOut: upload(g, x, [B * P]), dBias: dPos, N: B, C: P, S: 1 }),
      dPos,
    );
    // each column sums B values in order: gamma(B - 1)·sum|x| of that column
    const atol = inOrderSumAtol(transposed(x, B, P), P, B);
    expectAllClose(got, dPosWant, { atol, rtol: 0 }, 'dPos');
    // and exactly the float32 sum over b in order (bias's serial path for S = 1)
    const inOrder = Float32Array.from({ length: P }, (_, p) => {
      let acc = 0;
      for (let b = 0; b < B; b++) acc = Math.fround(acc + (x[b * P + p] ?? 0));
      return acc;
    });
    expect(got).toEqual(inOrder);
  });
});

describe('embedding race detector', () => {
  // 1100 positions: two tiles of 1024, so a tile's reads meet the next tile's writes; 8 lanes
  // test runs of 128 positions each, and C = 10 makes two lanes own two columns.
  const [N, V, C] = [1100, 3, 10];
  const tokens = Uint32Array.from(randomInts(N, 61, V));
  const dOut = randomFloats(N * C, 62);

  /** wgsl_reflect's lockstep interpreter over embeddingBackward, 8 lanes per workgroup. */
  function detect(code: string, dTable: Float32Array): ReturnType<typeof detectRaces> {
    const uniform = { uniform: embeddingParams.pack({ N, V, C }) };
    const bindings = { 0: tokens.buffer, 1: dOut.buffer, 2: dTable.buffer, 3: uniform };
    return detectRaces(
      code,
      'embeddingBackward',
      [V, 1, 1],
      { 0: bindings },
      {
        constants: { workgroupSize: 8 },
      },
    );
  }

  it('embeddingBackward has no races and computes the sums', () => {
    const dTable = new Float32Array(V * C).fill(NaN);
    const result = detect(embeddingShader.code, dTable);
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    // The interpreter wrote into our buffer: it ran the kernel on these bindings.
    const want = new Float32Array(V * C);
    embeddingBackwardCpu({ tokens, dOut, dTable: want, N, V, C });
    expect(dTable).toEqual(want);
  });

  // The three barriers of a tile: after the counts, after the scan, after the list.
  it.each([0, 1, 2])('reports races once barrier %i is deleted', (which) => {
    const code = embeddingShader.code;
    let pos = code.indexOf('fn embeddingBackward(');
    for (let k = 0; k <= which; k++) pos = code.indexOf('workgroupBarrier();', pos + 1);
    const racy = code.slice(0, pos) + code.slice(pos + 'workgroupBarrier();'.length);
    expect(detect(racy, new Float32Array(V * C)).races.length).toBeGreaterThan(0);
  });
});
