/**
 * Language-model cases: the token embedding's lookup and its deterministic gradient, and the
 * next-token draw, each against its twin.
 *   embedding: GB/s at least: the tokens, the table rows gathered and out written (forward), or
 *              the tokens, dOut read and dTable written once (backward; the kernel also tests
 *              every token once per table row, which this leaves out).
 *   sample:    GB/s of one row of logits read once, the draw and the id; top-k ranks the row
 *              against itself (V^2 reads), so the figure falls when k < V: that is the lesson.
 */
import { type Gpu } from '../../src/index';
import {
  embeddingBackward,
  embeddingBackwardCpu,
  embeddingForward,
  embeddingForwardCpu,
  mulberry32,
  packDraw,
  randomFloats,
  randomInts,
  readFloat32,
  readTensor,
  sampleToken,
  sampleTokenCpu,
  drawIntervals,
  type Draw,
} from '../../src/kernelApi';
import type { Direction } from './conv';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

export interface EmbeddingSizes {
  /** Tokens (positions). */
  N: number;
  /** Vocabulary: rows of the table. */
  V: number;
  /** Width: columns of the table. */
  C: number;
}

/**
 * Lookup of N random tokens below V in a [V, C] table, or dTable from dOut [N, C]. Both exact:
 * the forward copies, and the backward adds each row's positions in order in float32, as the
 * twin does when it stores into a Float32Array (tests/kernels/embedding.test.ts).
 */
export function embeddingCase(
  gpu: Gpu,
  { N, V, C }: EmbeddingSizes,
  direction: Direction,
  seed = 131,
): KernelCase {
  return makeCase(gpu, (t) => {
    const tokenInts = randomInts(N, seed, V);
    const tokensHost = Uint32Array.from(tokenInts);
    const tokens = t.upload(tokenInts, [N]); // i32, which the wrapper takes as it takes u32
    const rowsHost = randomFloats(N * C, seed + 1, -1e3, 1e3); // dOut, or the table's rows
    const exact = { atol: 0, rtol: 0 };
    const shape = `N=${N} V=${V} C=${C}`;
    if (direction === 'forward') {
      const tableHost = randomFloats(V * C, seed + 2, -1e3, 1e3);
      const [table, out] = [t.upload(tableHost, [V, C]), t.zeros([N, C])];
      const check = async (): Promise<TwinCheck[]> => {
        const want = new Float32Array(N * C);
        embeddingForwardCpu({ tokens: tokensHost, table: tableHost, out: want, N, V, C });
        return [{ output: 'out', got: await readFloat32(gpu, out), want, ...exact }];
      };
      const call = embeddingForward({ tokens, table, out, N, V, C });
      return { shape, setup: [], calls: [call], check };
    }
    const dOut = t.upload(rowsHost, [N, C]);
    // NaN first: rows no token holds must be written too (as zeros), or the check sees NaN.
    const dTable = t.upload(new Float32Array(V * C).fill(NaN), [V, C]);
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float32Array(V * C);
      embeddingBackwardCpu({ tokens: tokensHost, dOut: rowsHost, dTable: want, N, V, C });
      return [{ output: 'dTable', got: await readFloat32(gpu, dTable), want, ...exact }];
    };
    const call = embeddingBackward({ tokens, dOut, dTable, N, V, C });
    return { shape, setup: [], calls: [call], check };
  });
}

export function embeddingBytes({ N, V, C }: EmbeddingSizes, direction: Direction): number {
  return 4 * (direction === 'forward' ? N + 2 * N * C : N + N * C + V * C);
}

export interface SampleSizes {
  /** Rows of logits (a window's positions); the draw reads the last. */
  rows: number;
  V: number;
  /** Draw among the k largest; 0 keeps all. */
  topK: number;
  temperature: number;
}

/**
 * One draw from the last of `rows` rows of logits in [-3, 3) at a fixed u. The twin adds the
 * weights in float64 in one pass, the GPU in float32 per lane's chunk, so the two may draw
 * neighbouring ids when u lies within rounding of the boundary between them. The check, as
 * tests/kernels/sample.test.ts: u against the float64 CDF interval of the id the GPU drew; 0 when
 * the GPU drew the twin's id, and at most 1e-5 (of the total weight, ~100 float32 roundings) off
 * at a boundary. An id outside the kept ones (or NO_TOKEN) has no interval: NaN, a mismatch.
 */
export function sampleCase(gpu: Gpu, sizes: SampleSizes, seed = 141): KernelCase {
  const { rows, V, topK, temperature } = sizes;
  return makeCase(gpu, (t) => {
    const logitsHost = randomFloats(rows * V, seed, -3, 3);
    // u and the temperature as the GPU reads them (float32), for the twin and the check alike.
    const u = Math.fround(mulberry32(seed + 1)());
    const d: Draw = { row: rows - 1, u, temperature: Math.fround(temperature), topK };
    const logits = t.upload(logitsHost, [rows, V]);
    const [draw, token] = [t.upload(packDraw(d), [4]), t.zeros([1], 'u32')];
    const check = async (): Promise<TwinCheck[]> => {
      const id = (await readTensor(gpu, token))[0] ?? NaN;
      const want = sampleTokenCpu({ logits: logitsHost, rows, V, draw: d });
      const held = drawIntervals(logitsHost, V, d).find((s) => s.id === id);
      const [start, end] = held ? [held.start, held.end] : [NaN, NaN];
      // The interval's point nearest u: u itself whenever the GPU's id holds u.
      const got = [Math.min(Math.max(d.u, start), end)];
      const output = `token ${id} (twin ${want})`;
      return [{ output, got, want: [d.u], atol: 1e-5, rtol: 0 }];
    };
    const shape = `rows=${rows} V=${V} topK=${topK} temperature=${temperature} u=${d.u.toFixed(4)}`;
    return { shape, setup: [], calls: [sampleToken({ logits, draw, token, rows, V })], check };
  });
}

export function sampleBytes(V: number): number {
  return 4 * (V + 4 + 1);
}
