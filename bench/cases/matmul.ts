/**
 * Compute cases: matmul C[M, N] = A[M, K]·B[K, N] with any variant, and the FMA peak
 * kernel (fmaPeak.wgsl), each against its twin.
 *   matmul:   2·M·N·K flops (matmulFlops).
 *   FMA peak: fmaPeakFlops(count, iterations) = count·iterations·8 vec4 FMAs·4 lanes·2 flops.
 */
import { type Gpu, type MatmulVariant } from '../../src/index';
import {
  dotAtol,
  fmaPeak,
  fmaPeakCpu,
  matmul,
  matmulCpu,
  randomFloats,
  readFloat32,
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

/** C = A·B with one variant on random inputs in [-1, 1), against matmulCpu within dotAtol(K). */
export function matmulCase(
  gpu: Gpu,
  variant: MatmulVariant,
  { M, N, K }: MatmulSizes,
  seed = 11,
): KernelCase {
  return makeCase(gpu, (t) => {
    const aHost = randomFloats(M * K, seed);
    const bHost = randomFloats(K * N, seed + 1);
    const out = t.zeros([M, N]);
    const a = t.upload(aHost, [M, K]);
    const b = t.upload(bHost, [K, N]);
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

/** FMA peak sizes: invocations and rounds of 8 vec4 FMAs each. */
export interface FmaPeakSizes {
  count: number;
  iterations: number;
}

/**
 * `count` invocations of `iterations` rounds of v·mul + add against fmaPeakCpu. With mul 0.9 and
 * add 0.05 every lane converges to 0.5, so each checksum (32 lanes) is about 16; float32 drift
 * stays a few ulps per lane, far below 1e-4 + 1e-5·|sum|.
 */
export function fmaPeakCase(
  gpu: Gpu,
  { count, iterations }: FmaPeakSizes,
  { mul, add } = { mul: 0.9, add: 0.05 },
): KernelCase {
  return makeCase(gpu, (t) => {
    const sums = t.zeros([count]);
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float64Array(count);
      fmaPeakCpu({ sums: want, iterations, mul, add });
      const got = await readFloat32(gpu, sums);
      return [{ output: 'sums', got, want, atol: 1e-4, rtol: 1e-5 }];
    };
    const calls = [fmaPeak({ sums, iterations, mul, add })];
    return { shape: `${count}x${iterations}`, setup: [], calls, check };
  });
}
