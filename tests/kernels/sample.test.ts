/**
 * sample.wgsl: the next token drawn on the GPU from one row of logits (temperature, top-k, the
 * inverse CDF at a host-drawn u), against its CPU twin. The twin adds the weights in float64 and
 * in one pass, the GPU in float32 per chunk, so an id may differ only where u lies within rounding
 * of a boundary between two ids: the tests skip no draw, they check each disagreement is such a
 * boundary (1e-5 of the total weight, about 100 float32 roundings).
 */
import { detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { describe, expect, it } from 'vitest';
import { createTensor, readTensor, uploadTensor } from '../../src/gpu/buffers';
import { runCalls } from '../../src/gpu/dispatch';
import { sampleParams, sampleShader, sampleToken } from '../../src/kernels/sample';
import {
  NO_TOKEN,
  drawIntervals,
  packDraw,
  sampleTokenCpu,
  type Draw,
} from '../../src/kernels/sample.cpu';
import { mulberry32, randomFloats } from '../../src/base/random';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

/** Draws with each u on the GPU (one call, the draw rewritten per submit). */
async function drawOnGpu(
  logits: Float32Array,
  rows: number,
  V: number,
  draws: readonly Draw[],
): Promise<number[]> {
  const g = gpu();
  const logitsT = uploadTensor(g, logits, [rows, V]);
  const draw = createTensor(g, [4], { dtype: 'u32' });
  const token = createTensor(g, [1], { dtype: 'u32' });
  const call = sampleToken({ logits: logitsT, draw, token, rows, V });
  const ids: number[] = [];
  for (const d of draws) {
    g.device.queue.writeBuffer(draw.buffer, draw.byteOffset, packDraw(d));
    await runCalls(g, [call]);
    ids.push((await readTensor(g, token))[0] ?? -1);
  }
  for (const t of [logitsT, draw, token]) t.buffer.destroy();
  return ids;
}

/** GPU and twin agree on every draw, or u sits within 1e-5 of the boundary between their ids. */
async function expectSameDraws(logits: Float32Array, rows: number, V: number, draws: Draw[]) {
  const gpuIds = await drawOnGpu(logits, rows, V, draws);
  let agreed = 0;
  draws.forEach((d, i) => {
    const want = sampleTokenCpu({ logits, rows, V, draw: d });
    const got = gpuIds[i];
    if (got === want) {
      agreed++;
      return;
    }
    const steps = drawIntervals(logits, V, d);
    const at = (id: number | undefined) => steps.findIndex((s) => s.id === id);
    const [a, b] = [at(got), at(want)].sort((x, y) => x - y);
    expect(a, `GPU drew ${got}, the twin ${want}, for u = ${d.u}`).toBeGreaterThanOrEqual(0);
    expect(b! - a!, `ids ${got} and ${want} are not neighbours among the kept`).toBe(1);
    expect(Math.abs((steps[a!]?.end ?? NaN) - d.u)).toBeLessThan(1e-5);
  });
  expect(agreed).toBeGreaterThan(draws.length * 0.95);
}

const us = (n: number, seed: number) => {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => random());
};

describe('sample twin', () => {
  it('is greedy with k = 1, keeps only the top k, and follows the temperature', () => {
    const logits = Float32Array.from([0, 5, 1, 4]);
    const draw = (u: number, o: Partial<Draw> = {}) =>
      sampleTokenCpu({ logits, rows: 1, V: 4, draw: { row: 0, u, temperature: 1, topK: 0, ...o } });
    expect(us(50, 1).every((u) => draw(u, { topK: 1 }) === 1)).toBe(true);
    const counts = [0, 0, 0, 0];
    for (const u of us(4000, 2)) counts[draw(u, { topK: 2 })]! += 1;
    expect([counts[0], counts[2]]).toEqual([0, 0]);
    // softmax of [5, 4]: 0.731 / 0.269
    expect(counts[1]! / 4000).toBeGreaterThan(0.7);
    expect(counts[1]! / 4000).toBeLessThan(0.76);
    // temperature 0.1 on [0, 1]: e^10 : 1
    const cold = us(1000, 3).filter((u) => draw(u, { temperature: 0.1 }) === 1).length;
    expect(cold).toBeGreaterThan(995);
    // the inverse CDF in index order: u below p0 is id 0
    const even = Float32Array.from([0, 0]);
    expect(
      sampleTokenCpu({
        logits: even,
        rows: 1,
        V: 2,
        draw: { row: 0, u: 0.49, temperature: 1, topK: 0 },
      }),
    ).toBe(0);
    expect(
      sampleTokenCpu({
        logits: even,
        rows: 1,
        V: 2,
        draw: { row: 0, u: 0.51, temperature: 1, topK: 0 },
      }),
    ).toBe(1);
  });

  it('breaks ties at the k-th place by index, refuses NaN rows, and checks the draw', () => {
    const tied = Float32Array.from([1, 3, 3, 3, 0]);
    const kept = new Set(
      us(300, 4).map((u) =>
        sampleTokenCpu({
          logits: tied,
          rows: 1,
          V: 5,
          draw: { row: 0, u, temperature: 1, topK: 2 },
        }),
      ),
    );
    expect([...kept].sort()).toEqual([1, 2]);
    const nan = Float32Array.from([0, NaN, 1]);
    expect(
      sampleTokenCpu({
        logits: nan,
        rows: 1,
        V: 3,
        draw: { row: 0, u: 0.5, temperature: 1, topK: 1 },
      }),
    ).toBe(NO_TOKEN);
    const inf = Float32Array.from([0, Infinity]);
    expect(
      sampleTokenCpu({
        logits: inf,
        rows: 1,
        V: 2,
        draw: { row: 0, u: 0.5, temperature: 1, topK: 0 },
      }),
    ).toBe(NO_TOKEN);
    const ok: Draw = { row: 0, u: 0.5, temperature: 1, topK: 0 };
    const bad: [Partial<Draw>, RegExp][] = [
      [{ row: 1 }, /row = 1, expected a whole number below 1/],
      [{ u: 1 }, /u = 1, expected \[0, 1\)/],
      [{ temperature: 0 }, /temperature = 0, expected a finite float32 > 0/],
      [{ temperature: 1e-50 }, /temperature = 1e-50/],
      [{ topK: -1 }, /topK = -1/],
    ];
    for (const [change, message] of bad)
      expect(() =>
        sampleTokenCpu({ logits: tied, rows: 1, V: 5, draw: { ...ok, ...change } }),
      ).toThrow(message);
    // u just below 1 stays below 1 in float32
    expect(new Float32Array(packDraw({ ...ok, u: 1 - 1e-12 }).buffer)[1]).toBeLessThan(1);
  });
});

describe('sample kernel vs twin', () => {
  // V: 1, under one lane per id, not a multiple of the 64 lanes, and 16 ids per lane
  it.each([
    [1, 1, 0],
    [3, 2, 2],
    [65, 3, 0],
    [65, 3, 5],
    [1000, 2, 0],
    [1000, 1, 40],
  ])('V = %i, rows = %i, top-k %i', async (V, rows, topK) => {
    const logits = randomFloats(rows * V, V + topK).map((v) => 3 * v);
    const draws = us(60, V).map((u, i) => ({
      row: i % rows,
      u,
      temperature: 0.5 + (i % 3) * 0.5,
      topK,
    }));
    await expectSameDraws(logits, rows, V, draws);
  });

  it('stays exact at logits of 1e4, with ties at the cut, and refuses NaN and infinity', async () => {
    const large = Float32Array.from([1e4, -1e4, 9999, 1e4, 9998, 9999]);
    await expectSameDraws(
      large,
      1,
      6,
      us(60, 7).map((u) => ({ row: 0, u, temperature: 1, topK: 3 })),
    );
    // ties: the k = 2 cut falls between the two 9999s, so id 5 is never drawn
    const ids = await drawOnGpu(
      large,
      1,
      6,
      us(100, 8).map((u) => ({ row: 0, u, temperature: 3, topK: 3 })),
    );
    expect(new Set(ids)).toEqual(new Set([0, 2, 3]));
    const greedy = await drawOnGpu(large, 1, 6, [{ row: 0, u: 0.999, temperature: 1, topK: 1 }]);
    expect(greedy).toEqual([0]);
    const broken = Float32Array.from([0, NaN, 1, Infinity]);
    const refused = await drawOnGpu(broken, 1, 4, [
      { row: 0, u: 0.5, temperature: 1, topK: 0 },
      { row: 0, u: 0.5, temperature: 1, topK: 1 },
    ]);
    expect(refused).toEqual([NO_TOKEN, NO_TOKEN]);
    const infinite = await drawOnGpu(Float32Array.from([0, Infinity]), 1, 2, [
      { row: 0, u: 0.5, temperature: 1, topK: 0 },
    ]);
    expect(infinite).toEqual([NO_TOKEN]);
  });

  it('checks its tensors', () => {
    const g = gpu();
    const logits = createTensor(g, [2, 5]);
    const draw = createTensor(g, [4], { dtype: 'u32' });
    const token = createTensor(g, [1], { dtype: 'u32' });
    expect(() => sampleToken({ logits, draw, token, rows: 2, V: 6 })).toThrow(
      /logits has 10 elements/,
    );
    expect(() => sampleToken({ logits, draw: token, token, rows: 2, V: 5 })).toThrow(/draw/);
    expect(() => sampleToken({ logits, draw, token: logits, rows: 2, V: 5 })).toThrow(/token/);
    for (const t of [logits, draw, token]) t.buffer.destroy();
  });
});

describe('sample race detector', () => {
  const [rows, V] = [2, 37];
  const logits = randomFloats(rows * V, 11);

  function detect(code: string, d: Draw): ReturnType<typeof detectRaces> & { token: number } {
    const token = new Uint32Array(1);
    const bindings = {
      0: logits.buffer,
      1: packDraw(d).buffer,
      2: token.buffer,
      3: { uniform: sampleParams.pack({ rows, V }) },
    };
    // 8 lanes: chunks of 5 ids, the last lane's chunk partial
    const result = detectRaces(
      code,
      'sampleToken',
      [1, 1, 1],
      { 0: bindings },
      { constants: { workgroupSize: 8 } },
    );
    return { ...result, token: token[0] ?? -1 };
  }

  it.each([0, 4])("has no races and draws the twin's id (top-k %i)", (topK) => {
    const d: Draw = { row: 1, u: 0.37, temperature: 0.8, topK };
    const result = detect(sampleShader.code, d);
    expect(result.errors).toEqual([]);
    expect(result.races).toEqual([]);
    expect(result.token).toBe(sampleTokenCpu({ logits, rows, V, draw: d }));
  });

  it.each([0, 1, 2])('reports races once barrier %i is deleted', (which) => {
    const code = sampleShader.code;
    let pos = code.indexOf('fn sampleToken(');
    for (let k = 0; k <= which; k++) pos = code.indexOf('workgroupBarrier();', pos + 1);
    const racy = code.slice(0, pos) + code.slice(pos + 'workgroupBarrier();'.length);
    expect(
      detect(racy, { row: 1, u: 0.37, temperature: 0.8, topK: 4 }).races.length,
    ).toBeGreaterThan(0);
  });
});
