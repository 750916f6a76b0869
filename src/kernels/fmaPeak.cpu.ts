/** CPU twin of shaders/fmaPeak.wgsl: the checksum each invocation writes. */
import type { FloatArray } from './common.cpu';

export interface FmaPeakArgs<T> {
  sums: T;
  iterations: number;
  mul: number;
  add: number;
}

export function fmaPeakCpu({ sums, iterations, mul, add }: FmaPeakArgs<FloatArray>): void {
  for (let i = 0; i < sums.length; i++) {
    const seed = (i % 16) * 0.001;
    let total = 0;
    for (let acc = 0; acc < 8; acc++) {
      for (let lane = 0; lane < 4; lane++) {
        let v = seed + lane * 0.1 + acc * 0.01;
        for (let r = 0; r < iterations; r++) v = v * mul + add;
        total += v;
      }
    }
    sums[i] = total;
  }
}

/** Flops one dispatch performs: 8 vec4 FMAs per round, 2 flops per lane. */
export function fmaPeakFlops(count: number, iterations: number): number {
  return count * iterations * 8 * 4 * 2;
}
