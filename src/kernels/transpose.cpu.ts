/** CPU twin of shaders/transpose.wgsl: x.transpose(1, 2) of [A, B, C, D]. */
import type { FloatArray } from './common.cpu';

export interface TransposeArgs<T> {
  /** [A, B, C, D] */
  x: T;
  /** [A, C, B, D] */
  out: T;
  A: number;
  B: number;
  C: number;
  D: number;
}

export function transposeCpu({ x, out, A, B, C, D }: TransposeArgs<FloatArray>): void {
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < D; d++)
          out[((a * C + c) * B + b) * D + d] = x[((a * B + b) * C + c) * D + d] ?? 0;
}
