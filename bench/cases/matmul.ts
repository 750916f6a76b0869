/**
 * Compute cases: matmul C[M, N] = A[M, K]·B[K, N] with any variant, against its twin;
 * 2·M·N·K flops (matmulFlops). The FMA peak's case is with the bandwidth's in ./peaks.
 */
import { type Gpu, type MatmulVariant } from '../../src/index';
import {
  dotAtol,
  matmul,
  matmulCpu,
  randomFloats,
  readFloat32,
  roundToF16,
  toF16,
} from '../../src/kernelApi';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

/** Matmul sizes: A is [M, K], B is [K, N]. */
export interface MatmulSizes {
  M: number;
  N: number;
  K: number;
}

/** The odd shape variants are validated on: no dimension a multiple of any tile. */
export const MATMUL_ODD_SHAPE: MatmulSizes = { M: 37, N: 29, K: 43 };

/**
 * C = A·B with one variant on random inputs in [-1, 1), against matmulCpu within dotAtol(K). With
 * `bDtype` f16, B is stored in half precision (the products' per-lane operand under mixed
 * precision) and the twin multiplies the same rounded values.
 */
export function matmulCase(
  gpu: Gpu,
  variant: MatmulVariant,
  { M, N, K }: MatmulSizes,
  seed = 11,
  bDtype: 'f32' | 'f16' = 'f32',
): KernelCase {
  return makeCase(gpu, (t) => {
    const aHost = randomFloats(M * K, seed);
    const bValues = randomFloats(K * N, seed + 1);
    const bHost = bDtype === 'f16' ? roundToF16(bValues) : bValues;
    const out = t.zeros([M, N]);
    const a = t.upload(aHost, [M, K]);
    const b = t.upload(bDtype === 'f16' ? toF16(bHost) : bHost, [K, N]);
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(M * N);
      matmulCpu({ a: aHost, b: bHost, out: want, M, N, K });
      const got = await readFloat32(gpu, out);
      return [{ output: 'C', got, want, atol: dotAtol(K), rtol: 1e-5 }];
    };
    const calls = [matmul({ a, b, out, M, N, K }, variant)];
    return { shape: `M=${M} K=${K} N=${N}`, setup: [], calls, check };
  });
}
