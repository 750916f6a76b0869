/**
 * The adapter's FMA peak and square matmuls, naive against the tiled variants; the kernel cases
 * and work formulas are bench/cases/matmul.ts's.
 */
import { type MatmulVariant } from '../../src/index';
import { fmaPeakFlops, matmulFlops } from '../../src/kernelApi';
import {
  fmaPeakCase,
  matmulCase,
  MATMUL_ODD_SHAPE,
  timeCase,
  validateCase,
  type Validation,
} from '../cases';
import { row, type BenchContext, type BenchRow } from './common';

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile'];

export async function benchFmaPeak(ctx: BenchContext): Promise<BenchRow[]> {
  const { gpu } = ctx;
  const checked = fmaPeakCase(gpu, { count: 300, iterations: 64 });
  const validation = await validateCase(gpu, 'fmaPeak', checked);
  const count = (ctx.options.quick ? 64 : 256) * 1024;
  const iterations = ctx.options.quick ? 128 : 512;
  ctx.log(`FMA peak: ${count} invocations x ${iterations} rounds`);
  const timed = fmaPeakCase(gpu, { count, iterations }, { mul: 0.999, add: 0.001 });
  const t = await timeCase(gpu, timed, (calls) => ctx.time(calls));
  timed.destroy();
  const base = { suite: 'fma', kernel: 'fmaPeak', shape: `${count}x${iterations}` } as const;
  return [row({ ...base, unit: 'GFLOP/s', validation }, t, fmaPeakFlops(count, iterations))];
}

export async function benchMatmul(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const checks = new Map<MatmulVariant, Validation>();
  // Each variant on an odd shape (no dimension a multiple of any tile) against matmulCpu.
  for (const variant of MATMUL_VARIANTS) {
    const c = matmulCase(ctx.gpu, variant, MATMUL_ODD_SHAPE);
    checks.set(variant, await validateCase(ctx.gpu, `matmul ${variant}`, c));
  }
  for (const n of ctx.options.sizes) {
    const sizes = { M: n, N: n, K: n };
    for (const variant of MATMUL_VARIANTS) {
      ctx.log(`matmul ${n}x${n}x${n} ${variant}`);
      const timed = matmulCase(ctx.gpu, variant, sizes, 1);
      const t = await timeCase(ctx.gpu, timed, (calls) => ctx.time(calls));
      timed.destroy();
      const validation = checks.get(variant);
      if (!validation) throw new Error(`matmul ${variant}: not validated`);
      const kernel = `matmul ${variant}`;
      const base = { suite: 'matmul', kernel, shape: `${n}x${n}x${n}`, unit: 'GFLOP/s' } as const;
      rows.push(row({ ...base, validation }, t, matmulFlops(sizes)));
    }
  }
  return rows;
}
