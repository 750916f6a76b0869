/**
 * One matmul case on the GPU against the CPU twin (float64 sums), with the output's guard words
 * and the tolerance of a float32 dot product of the case's length: shared by the matmul test
 * files (variants, workgroup shapes, quadK).
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import type { GpuTensor } from '../../src/gpu/tensor';
import { matmul, type MatmulChoice, type MatmulVariant } from '../../src/kernels/matmul';
import { matmulCpu, matmulStrides, type MatmulArgs } from '../../src/kernels/matmul.cpu';
import { randomFloats } from '../../src/base/random';
import { roundToF16, toF16 } from '../../src/base/f16';
import { uploadTensor } from '../../src/gpu/buffers';
import { dotTolerance, expectAllClose } from './allclose';
import { runAndRead, upload } from './gpu';
import { guardedOutput } from './sentinel';

export interface Case extends Omit<MatmulArgs<never>, 'a' | 'b' | 'out' | 'bias'> {
  name: string;
  /** The entry point registerTile must pick (vec4 paths); unchecked when absent. */
  tileEntry?: string;
  /** Inputs are uniform in [-scale, scale). */
  scale?: number;
  /** Operands stored as f16 (the twin gets the same values, rounded to f16 on the host). */
  half?: readonly ('a' | 'b')[];
}

/** Runs one case on the GPU and checks it against the twin, the guards and the tolerance. */
export async function checkCase(
  gpu: Gpu,
  c: Case,
  variant: MatmulVariant | MatmulChoice,
): Promise<string> {
  const { M, N, K } = c;
  const s = matmulStrides(c);
  const extent = (stride: number, size: number): number => (s.batch - 1) * stride + size;
  const scale = c.scale ?? 1;
  const half = (x: 'a' | 'b', values: Float32Array): Float32Array =>
    c.half?.includes(x) ? roundToF16(values) : values;
  const aHost = half('a', randomFloats(extent(s.aBatchStride, M * K), M * 31 + K, -scale, scale));
  const bHost = half('b', randomFloats(extent(s.bBatchStride, K * N), N * 17 + K, -scale, scale));
  const operand = (x: 'a' | 'b', values: Float32Array): GpuTensor =>
    c.half?.includes(x)
      ? uploadTensor(gpu, toF16(values), [values.length], { label: `test-${x}-f16` })
      : upload(gpu, values, [values.length]);
  const biasHost = c.biasMode
    ? randomFloats(c.biasMode === 'row' ? M : N, 5, -scale, scale)
    : undefined;
  const outCount = (s.outputs - 1) * s.outBatchStride + M * N;
  const out = guardedOutput(gpu, [outCount]);
  const gpuArgs: MatmulArgs<GpuTensor> = {
    ...c,
    a: operand('a', aHost),
    b: operand('b', bHost),
    out: out.tensor,
  };
  if (biasHost) gpuArgs.bias = upload(gpu, biasHost, [biasHost.length]);
  const call = matmul(gpuArgs, variant);
  const got = await runAndRead(gpu, call, out.tensor);
  const want = new Float32Array(outCount).fill(NaN); // gaps between strided outputs stay unwritten
  matmulCpu({ ...c, a: aHost, b: bHost, out: want, ...(biasHost ? { bias: biasHost } : {}) });
  // Worst sum_k |a_mk b_kn| over outputs: the twin on absolute values, without bias or activation.
  const sumAbs = new Float64Array(outCount);
  matmulCpu({
    ...c,
    a: aHost.map(Math.abs),
    b: bHost.map(Math.abs),
    out: sumAbs,
    biasMode: undefined,
    activation: 'none',
  });
  // f32 dot products of length K (K·productsPerSum when summed) against the float64 twin: dotTolerance;
  // a bias (|bias| < scale) adds one rounding of that size, so it joins the magnitude.
  const tol = dotTolerance(
    K * s.productsPerSum,
    sumAbs.reduce((m, v) => Math.max(m, v), biasHost ? scale : 0),
  );
  const written = (i: number): boolean => !Number.isNaN(want[i] ?? NaN);
  const index = [...want.keys()].filter(written);
  expectAllClose(
    index.map((i) => got[i] ?? NaN),
    index.map((i) => want[i] ?? NaN),
    tol,
    `${c.name} (${call.entryPoint})`,
  );
  expect(
    got.filter((_, i) => !written(i)).every(Number.isNaN),
    'gaps between outputs were written',
  ).toBe(true);
  await out.check();
  return call.entryPoint;
}
