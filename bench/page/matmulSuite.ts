/**
 * The adapter's FMA peak and square matmuls, naive against the tiled variants.
 *   FMA peak: fmaPeakFlops(count, iterations) = count·iterations·8 vec4 FMAs·4 lanes·2 flops.
 *   matmul:   2·N³ flops for C[N, N] = A[N, N]·B[N, N].
 */
import { createTensor, readFloat32, runCalls, uploadTensor, type Gpu } from '../../src/index';
import { fmaPeak } from '../../src/kernels/fmaPeak';
import { fmaPeakCpu, fmaPeakFlops } from '../../src/kernels/fmaPeak.cpu';
import { matmul, matmulFlops, type MatmulVariant } from '../../src/kernels/matmul';
import { matmulCpu } from '../../src/kernels/matmul.cpu';
import {
  dotAtol,
  randomFloats,
  row,
  validate,
  type BenchContext,
  type BenchRow,
  type TwinCheck,
  type Validation,
} from './common';
import { makeCase, validateCase, type KernelCase } from './kernelCase';

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile'];

export async function benchFmaPeak(ctx: BenchContext): Promise<BenchRow[]> {
  const { gpu } = ctx;
  const args = { iterations: 64, mul: 0.9, add: 0.05 };
  const check = createTensor(gpu, [300]);
  await runCalls(gpu, [fmaPeak({ sums: check, ...args })]);
  const want = new Float64Array(300);
  fmaPeakCpu({ sums: want, ...args });
  // 64 rounds of v·0.9 + 0.05 converge to 0.5; float32 drift stays far below 1e-4 relative.
  const validation = validate('fmaPeak', '300x64', await readFloat32(gpu, check), want, 1e-5, 1e-4);
  check.buffer.destroy();
  const count = (ctx.options.quick ? 64 : 256) * 1024;
  const iterations = ctx.options.quick ? 128 : 512;
  const sums = createTensor(gpu, [count]);
  ctx.log(`FMA peak: ${count} invocations x ${iterations} rounds`);
  const t = await ctx.time([fmaPeak({ sums, iterations, mul: 0.999, add: 0.001 })]);
  sums.buffer.destroy();
  const base = { suite: 'fma', kernel: 'fmaPeak', shape: `${count}x${iterations}` } as const;
  return [row({ ...base, unit: 'GFLOP/s', validation }, t, fmaPeakFlops(count, iterations))];
}

/** C[M, N] = A[M, K]·B[K, N] with one variant on random inputs, against matmulCpu. */
export function matmulCase(
  gpu: Gpu,
  variant: MatmulVariant,
  { M, N, K }: { M: number; N: number; K: number },
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
    return {
      shape: `M=${M} K=${K} N=${N}`,
      setup: [],
      calls: [matmul({ a, b, out, M, N, K }, variant)],
      check,
    };
  });
}

/** One variant on an odd shape (no dimension a multiple of any tile) against matmulCpu. */
function validateMatmul(ctx: BenchContext, variant: MatmulVariant): Promise<Validation> {
  return validateCase(
    ctx.gpu,
    `matmul ${variant}`,
    matmulCase(ctx.gpu, variant, { M: 37, N: 29, K: 43 }),
  );
}

export async function benchMatmul(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const checks = new Map<MatmulVariant, Validation>();
  for (const variant of MATMUL_VARIANTS) checks.set(variant, await validateMatmul(ctx, variant));
  for (const n of ctx.options.sizes) {
    const a = uploadTensor(ctx.gpu, randomFloats(n * n, 1), [n, n]);
    const b = uploadTensor(ctx.gpu, randomFloats(n * n, 2), [n, n]);
    const out = createTensor(ctx.gpu, [n, n]);
    for (const variant of MATMUL_VARIANTS) {
      ctx.log(`matmul ${n}x${n}x${n} ${variant}`);
      const t = await ctx.time([matmul({ a, b, out, M: n, N: n, K: n }, variant)]);
      const validation = checks.get(variant) ?? (await validateMatmul(ctx, variant));
      const base = {
        suite: 'matmul',
        kernel: `matmul ${variant}`,
        shape: `${n}x${n}x${n}`,
      } as const;
      rows.push(
        row({ ...base, unit: 'GFLOP/s', validation }, t, matmulFlops({ M: n, N: n, K: n })),
      );
    }
    [a, b, out].forEach((t) => t.buffer.destroy());
  }
  return rows;
}
