/**
 * Transformer cases: layer normalization over the last axis (forward, or the backward's dX and
 * parameter sums), attention's causal softmax over [rows, T] scores, GELU (either form), and the
 * heads' transpose, each against its twin.
 *   layerNorm: GB/s of x, y (and dY, dX) plus the per-row statistics, 4 bytes each.
 *   softmax:   GB/s of the scores read and the probabilities written (forward), or y, dY read and
 *              dX written (backward).
 *   gelu:      GB/s of x read and y written (forward), or x, dY read and dX written (backward).
 *   transpose: GB/s of x read and out written, once each.
 */
import { type Gpu } from '../../src/index';
import {
  geluBackward,
  geluBackwardCpu,
  geluForward,
  geluForwardCpu,
  layerNormBackward,
  layerNormBackwardCpu,
  layerNormForward,
  layerNormForwardCpu,
  randomFloats,
  readFloat32,
  softmaxBackward,
  softmaxBackwardCpu,
  softmaxForward,
  softmaxForwardCpu,
  transpose,
  transposeCpu,
  type GeluApproximation,
} from '../../src/kernelApi';
import type { Direction } from './conv';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

/**
 * Layer norm of [rows, D] in [-4, 4) with weight in [0.5, 1.5): float32 row sums in order are
 * within D·2^-24 of each value's scale (tests/kernels/layerNorm.test.ts derives the bound), so
 * 16·D·2^-24 absolute on outputs of order 1 leaves room and still fails a wrong term.
 */
export function layerNormCase(
  gpu: Gpu,
  { rows, D }: { rows: number; D: number },
  direction: Direction,
  seed = 71,
): KernelCase {
  return makeCase(gpu, (t) => {
    const host = {
      x: randomFloats(rows * D, seed, -4, 4),
      weight: randomFloats(D, seed + 1, 0.5, 1.5),
      bias: randomFloats(D, seed + 2),
      dY: randomFloats(rows * D, seed + 3),
    };
    const a = {
      x: t.upload(host.x, [rows, D]),
      weight: t.upload(host.weight, [D]),
      bias: t.upload(host.bias, [D]),
      y: t.zeros([rows, D]),
      mean: t.zeros([rows]),
      rstd: t.zeros([rows]),
      dY: t.upload(host.dY, [rows, D]),
      dX: t.zeros([rows, D]),
      dWeight: t.zeros([D]),
      dBias: t.zeros([D]),
    };
    const forward = layerNormForward({ ...a, rows, D, eps: 1e-5 });
    const tol = { atol: 16 * D * 2 ** -24, rtol: 2 ** -18 };
    const check = async (): Promise<TwinCheck[]> => {
      const want = {
        y: new Float64Array(rows * D),
        mean: new Float64Array(rows),
        rstd: new Float64Array(rows),
        dX: new Float64Array(rows * D),
        dWeight: new Float64Array(D),
        dBias: new Float64Array(D),
      };
      layerNormForwardCpu({ ...host, ...want, rows, D, eps: 1e-5 });
      if (direction === 'forward')
        return [{ output: 'y', got: await readFloat32(gpu, a.y), want: want.y, ...tol }];
      layerNormBackwardCpu({ ...host, ...want, rows, D });
      const sums = { atol: rows * tol.atol, rtol: tol.rtol }; // column sums over the rows
      return [
        { output: 'dX', got: await readFloat32(gpu, a.dX), want: want.dX, ...tol },
        { output: 'dWeight', got: await readFloat32(gpu, a.dWeight), want: want.dWeight, ...sums },
        { output: 'dBias', got: await readFloat32(gpu, a.dBias), want: want.dBias, ...sums },
      ];
    };
    const shape = `rows=${rows} D=${D}`;
    if (direction === 'forward') return { shape, setup: [], calls: [forward], check };
    return { shape, setup: [forward], calls: layerNormBackward({ ...a, rows, D }), check };
  });
}

export function layerNormBytes(rows: number, D: number, direction: Direction): number {
  return 4 * (direction === 'forward' ? 2 * rows * D + 2 * rows : 5 * rows * D + 2 * rows);
}

/**
 * Causal softmax of `heads` [T, T] score matrices in [-8, 8) at scale 1/sqrt(16), and its
 * backward, against the twins: exp is within a few ulp, so 2^-18 relative with 2^-22 absolute.
 */
export function attentionSoftmaxCase(
  gpu: Gpu,
  { heads, T }: { heads: number; T: number },
  direction: Direction,
  seed = 81,
): KernelCase {
  return makeCase(gpu, (t) => {
    const [rows, L, scale] = [heads * T, T, 0.25];
    const xHost = randomFloats(rows * L, seed, -8, 8);
    const dYHost = randomFloats(rows * L, seed + 1);
    const x = t.upload(xHost, [rows, L]);
    const [y, dX, dY] = [t.zeros([rows, L]), t.zeros([rows, L]), t.upload(dYHost, [rows, L])];
    const forward = softmaxForward({ x, y, rows, L, scale, causal: true });
    const tol = { atol: 2 ** -22, rtol: 2 ** -18 };
    const check = async (): Promise<TwinCheck[]> => {
      const wantY = new Float64Array(rows * L);
      softmaxForwardCpu({ x: xHost, y: wantY, rows, L, scale, causal: true });
      if (direction === 'forward')
        return [{ output: 'y', got: await readFloat32(gpu, y), want: wantY, ...tol }];
      const wantDx = new Float64Array(rows * L);
      softmaxBackwardCpu({ y: await readFloat32(gpu, y), dY: dYHost, dX: wantDx, rows, L, scale });
      return [{ output: 'dX', got: await readFloat32(gpu, dX), want: wantDx, ...tol }];
    };
    const shape = `heads=${heads} T=${T}`;
    if (direction === 'forward') return { shape, setup: [], calls: [forward], check };
    const backward = softmaxBackward({ y, dY, dX, rows, L, scale });
    return { shape, setup: [forward], calls: [backward], check };
  });
}

export function attentionSoftmaxBytes(heads: number, T: number, direction: Direction): number {
  return 4 * heads * T * T * (direction === 'forward' ? 2 : 3);
}

/**
 * GELU of `count` elements in [-6, 6) (past the erf's two pieces' seam at |x| = sqrt(2), into
 * saturation), forward from x or backward from x and dY. As tests/kernels/gelu.test.ts: the
 * float32 erf, exp and tanh are within ~1.2e-7 absolute of the float64 twin, scaled by |x| <= 6,
 * so 1e-6 absolute with 2^-18 relative.
 */
export function geluCase(
  gpu: Gpu,
  count: number,
  approximate: GeluApproximation,
  direction: Direction,
  seed = 91,
): KernelCase {
  return makeCase(gpu, (t) => {
    const xHost = randomFloats(count, seed, -6, 6);
    const dYHost = randomFloats(count, seed + 1);
    const [x, out] = [t.upload(xHost, [count]), t.zeros([count])];
    const tol = { atol: 1e-6, rtol: 2 ** -18 };
    const shape = `${count} elements, ${approximate}`;
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(count);
      if (direction === 'forward') geluForwardCpu({ x: xHost, y: want, approximate });
      else geluBackwardCpu({ x: xHost, dY: dYHost, dX: want, approximate });
      const output = direction === 'forward' ? 'y' : 'dX';
      return [{ output, got: await readFloat32(gpu, out), want, ...tol }];
    };
    if (direction === 'forward')
      return { shape, setup: [], calls: [geluForward({ x, y: out, approximate })], check };
    // The backward reads the forward's input, not its output: no setup.
    const dY = t.upload(dYHost, [count]);
    return { shape, setup: [], calls: [geluBackward({ x, dY, dX: out, approximate })], check };
  });
}

export function geluBytes(count: number, direction: Direction): number {
  return 4 * count * (direction === 'forward' ? 2 : 3);
}

/** x [A, B, C, D] -> out [A, C, B, D] (x.transpose(1, 2)) against the twin: a copy, so exact. */
export function transposeCase(
  gpu: Gpu,
  { A, B, C, D }: { A: number; B: number; C: number; D: number },
  seed = 101,
): KernelCase {
  return makeCase(gpu, (t) => {
    const count = A * B * C * D;
    const xHost = randomFloats(count, seed, -1e3, 1e3);
    const [x, out] = [t.upload(xHost, [A, B, C, D]), t.zeros([A, C, B, D])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float32Array(count);
      transposeCpu({ x: xHost, out: want, A, B, C, D });
      return [{ output: 'out', got: await readFloat32(gpu, out), want, atol: 0, rtol: 0 }];
    };
    const shape = `[${A}, ${B}, ${C}, ${D}] -> [${A}, ${C}, ${B}, ${D}]`;
    return { shape, setup: [], calls: [transpose({ x, out, A, B, C, D })], check };
  });
}

export function transposeBytes(A: number, B: number, C: number, D: number): number {
  return 8 * A * B * C * D;
}
