/**
 * The two roofs of a roofline, each against its twin: the FMA peak (fmaPeak.wgsl, arithmetic) and
 * the stream copy (stream.wgsl, memory bandwidth).
 *   FMA peak: fmaPeakFlops(count, iterations) = count·iterations·8 vec4 FMAs·4 lanes·2 flops.
 *   copy:     streamCopyBytes(count) = 8·count (each f32 read once, written once).
 */
import { type Gpu } from '../../src/index';
import {
  fmaPeak,
  fmaPeakCpu,
  randomFloats,
  readFloat32,
  streamCopy,
  streamCopyCpu,
} from '../../src/kernelApi';
import { makeCase, type KernelCase, type TwinCheck } from './kernelCase';

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

/** y = x over `count` random floats against streamCopyCpu: a copy is exact (tolerance 0). */
export function streamCopyCase(gpu: Gpu, count: number, seed = 131): KernelCase {
  return makeCase(gpu, (t) => {
    const xHost = randomFloats(count, seed);
    const [x, y] = [t.upload(xHost, [count]), t.zeros([count])];
    const check = async (): Promise<TwinCheck[]> => {
      const want = new Float32Array(count);
      streamCopyCpu({ x: xHost, y: want });
      return [{ output: 'y', got: await readFloat32(gpu, y), want, atol: 0, rtol: 0 }];
    };
    return { shape: `${count} elements`, setup: [], calls: [streamCopy({ x, y })], check };
  });
}
