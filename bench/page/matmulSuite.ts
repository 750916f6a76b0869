/**
 * The adapter's FMA peak and square matmuls, naive against the tiled variants; the kernel cases
 * and work formulas are bench/cases/matmul.ts's.
 */
import { type MatmulVariant } from '../../src/index';
import {
  fmaPeakFlops,
  matmulFlops,
  preferredMatmulVariant,
  readTensor,
  runCalls,
  type GpuTensor,
  type KernelCall,
} from '../../src/kernelApi';
import {
  fmaPeakCase,
  matmulCase,
  MATMUL_ODD_SHAPE,
  timeCase,
  validateCase,
  type Validation,
} from '../cases';
import { MATMUL_WALL_REPEAT, row, wallClock, type BenchContext, type BenchRow } from './common';
import { openTfjsMatmul, samplesInTurns, tfjsPeer, type TfjsTiming } from './tfjsSuite';

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
    rows.push(await matmulTimedLikeTfjs(ctx, sizes, checks));
  }
  return rows;
}

/**
 * The library's matmul timed exactly as the page times tf.matMul: MATMUL_WALL_REPEAT calls (each
 * its own submit, as each tf op records its own dispatch), then a 1-element read-back, wall
 * clock, per call. This row, not the GPU-time rows above, is the one set against tfjs, so both
 * sides pay the same submit and read-back latency; with tfjs on, its samples alternate with
 * tf.matMul's.
 */
async function matmulTimedLikeTfjs(
  ctx: BenchContext,
  sizes: { M: number; N: number; K: number },
  checks: ReadonlyMap<MatmulVariant, Validation>,
): Promise<BenchRow> {
  const variant = preferredMatmulVariant(ctx.gpu.adapter.kind);
  const validation = checks.get(variant);
  if (!validation) throw new Error(`matmul ${variant}: not validated`);
  const n = sizes.N;
  const peer = await tfjsPeer(ctx, () => openTfjsMatmul(ctx, n));
  ctx.log(
    `matmul ${n}x${n}x${n} ${variant}, timed like tf.matMul${peer ? ', in turns with it' : ''}`,
  );
  const timed = matmulCase(ctx.gpu, variant, sizes, 1);
  let times: { ours: number[]; peer?: TfjsTiming };
  try {
    times = await samplesInTurns(ctx, wallClockLikeTfjs(ctx, timed.calls), peer);
  } finally {
    timed.destroy();
  }
  const kernel = `matmul ${variant} (wall clock, as tfjs)`;
  const shape = `${sizes.M}x${sizes.N}x${sizes.K}`;
  const ours = row(
    { suite: 'matmul', kernel, shape, unit: 'GFLOP/s', validation },
    wallClock(times.ours),
    matmulFlops(sizes),
  );
  return times.peer ? { ...ours, tfjs: times.peer } : ours;
}

/** One sample as tf.matMul's: MATMUL_WALL_REPEAT runs of `calls`, a 1-element read-back; ms each. */
function wallClockLikeTfjs(ctx: BenchContext, calls: readonly KernelCall[]): () => Promise<number> {
  const out = calls.at(-1)?.tensors.at(-1);
  if (!out) throw new Error('matmul case: no output tensor');
  const first: GpuTensor = { ...out, shape: [1], byteLength: 4 };
  return async () => {
    const start = performance.now();
    for (let k = 0; k < MATMUL_WALL_REPEAT; k++) await runCalls(ctx.gpu, calls);
    await readTensor(ctx.gpu, first);
    return (performance.now() - start) / MATMUL_WALL_REPEAT;
  };
}
