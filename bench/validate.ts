/** Validation helpers for benchmarks: a kernel is checked against its twin before it is timed. */
import { mulberry32 } from '../src/base/random';

export function randomFloats(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

/** Throws, naming the kernel, unless every element is within atol (+1e-5 relative) of the twin. */
export function validateSample(
  kernel: string,
  got: Float32Array,
  want: Float32Array,
  atol: number,
): void {
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? 0;
    const g = got[i] ?? NaN;
    if (!(Math.abs(g - w) <= atol + 1e-5 * Math.abs(w)))
      throw new Error(`${kernel}: element ${i} is ${g}, the CPU twin says ${w}`);
  }
}
