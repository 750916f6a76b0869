/**
 * bench/cases/matmul.ts with B in f16 (bench:kernels' "B f16" rows): B is stored in half
 * precision, and the case's twin multiplies the same rounded values, so its check passes where a
 * twin fed the unrounded B would not.
 */
import { describe, expect, it } from 'vitest';
import { compareCase, MATMUL_ODD_SHAPE, matmulCase } from '../../bench/cases';
import { matmulCpu, randomFloats, readFloat32 } from '../../src/kernelApi';
import { compareClose, dotAtol } from '../../src/base/compare';
import { onF16Device, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('matmulCase with B in f16', () => {
  it.each(['registerTile', 'subgroupTile'] as const)(
    '%s: B stored as f16, within float32 rounding of the twin on the rounded B only',
    async (variant) => {
      await onF16Device(gpu(), async () => {
        const c = matmulCase(gpu(), variant, MATMUL_ODD_SHAPE, 11, 'f16');
        try {
          expect(c.calls[0]?.tensors[1]?.dtype).toBe('f16');
          const comparisons = await compareCase(gpu(), c);
          for (const r of comparisons) expect(r.mismatches, r.firstMismatch).toBe(0);
          // The same product with B unrounded, as the f32 case's twin computes it: f16's rounding
          // of B (relative 2^-11) is far past float32's bound for K = 43 terms.
          const { M, N, K } = MATMUL_ODD_SHAPE;
          const want = new Float64Array(M * N);
          const a = randomFloats(M * K, 11);
          const b = randomFloats(K * N, 12);
          matmulCpu({ a, b, out: want, M, N, K });
          const out = c.calls[0]?.tensors[3]; // a, b, bias (a again without one), out
          if (!out) throw new Error('the case has no output tensor');
          const got = await readFloat32(gpu(), out);
          expect(
            compareClose(got, want, { atol: dotAtol(K), rtol: 1e-5 }).mismatches,
          ).toBeGreaterThan(0);
        } finally {
          c.destroy();
        }
      });
    },
  );
});
