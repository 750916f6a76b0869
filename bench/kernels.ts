/**
 * Kernel benchmark (Node): the adapter's FMA peak and copy bandwidth, matmul naive vs tiled at N =
 * 256/512/1024 (and with B in f16 where the adapter has shader-f16), and
 * the reference CNN's conv layers at batch 64, forward and backward. Every kernel is validated
 * against its CPU twin before it is timed (the kernel cases of bench/cases, shared with the
 * Chrome bench page and the kernel explorer; matmul on an odd shape, conv on a batch of 2); each
 * time is the median of several samples after warm-up. Prints tables, then one JSON line (the
 * last line of stdout).
 *
 *   npm run bench:kernels [-- --quick]      (--quick: fewer sizes and samples)
 *
 * GFLOP/s = flops / time: matmul 2·M·N·K, conv 2·N·O·OH·OW·C·KH·KW per product (backward: two
 * products, dWeight and dX), FMA peak 64 flops per invocation per round. GB/s = bytes / time:
 * the stream copy moves 8 bytes per element (one f32 read, one written).
 */
import { initDevice, type Gpu } from '../src/gpu/device';
import { timeCalls, type TimingResult } from '../src/gpu/timing';
import type { KernelCall } from '../src/gpu/dispatch';
import { fmaPeakFlops } from '../src/kernels/fmaPeak.cpu';
import { streamCopyBytes } from '../src/kernels/stream.cpu';
import { matmulFlops, type MatmulVariant } from '../src/kernels/matmul';
import { conv2dGeometry, type Conv2dGeometry } from '../src/kernels/geometry';
import {
  convCase,
  convFlops,
  fmaPeakCase,
  matmulCase,
  MATMUL_ODD_SHAPE,
  REFERENCE_CONV_LAYERS,
  streamCopyCase,
  timeCase,
  validateCase,
  type KernelCase,
} from './cases';
import { gflops, printTable, progress } from './report';

const quick = process.argv.includes('--quick');
const samples = quick ? 3 : 7;
const baseVariants: MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile'];

/** Times a case's calls (its setup runs once first): the median of `count` samples. */
function time(gpu: Gpu, c: KernelCase, count = samples): Promise<TimingResult> {
  return timeCase(gpu, c, (calls: readonly KernelCall[]) =>
    timeCalls(gpu, calls, { samples: count }),
  );
}

async function measurePeak(gpu: Gpu): Promise<number> {
  await validateCase(gpu, 'fmaPeak', fmaPeakCase(gpu, { count: 300, iterations: 64 }));
  const [count, iterations] = [256 * 1024, 512];
  const timed = fmaPeakCase(gpu, { count, iterations }, { mul: 0.999, add: 0.001 });
  const t = await time(gpu, timed);
  timed.destroy();
  return gflops(fmaPeakFlops(count, iterations), t.medianMs);
}

/** The copy's bandwidth in GB/s: validated on an odd count, timed on 2^24 floats (64 MiB each way). */
async function measureBandwidth(gpu: Gpu): Promise<number> {
  // 65537: the scalar entry point; 65540: the vec4 one, which the timed (multiple of 4) count takes.
  await validateCase(gpu, 'streamCopy', streamCopyCase(gpu, 65537));
  await validateCase(gpu, 'streamCopyVec4', streamCopyCase(gpu, 65540));
  const count = quick ? 2 ** 22 : 2 ** 24;
  const timed = streamCopyCase(gpu, count);
  const t = await time(gpu, timed);
  timed.destroy();
  return streamCopyBytes(count) / (t.medianMs * 1e6);
}

/** What is timed: a variant, with B stored in f32 or f16. */
interface MatmulRun {
  variant: MatmulVariant;
  /** B's storage: f16 as under mixed precision (A and the sums stay f32). */
  bDtype: 'f32' | 'f16';
}

interface MatmulResult extends MatmulRun {
  n: number;
  gflops: number;
  medianMs: number;
}

/**
 * The runs on `gpu`: every variant in f32; with `shader-f16`, registerTile and subgroupTile (where
 * the device has subgroups) again with B in f16, the operand each lane loads for itself.
 */
function matmulRuns(gpu: Gpu, variants: readonly MatmulVariant[]): MatmulRun[] {
  const f32 = variants.map((variant) => ({ variant, bDtype: 'f32' as const }));
  if (!gpu.hasShaderF16) return f32;
  const half = variants.filter((v) => v === 'registerTile' || v === 'subgroupTile');
  return [...f32, ...half.map((variant) => ({ variant, bDtype: 'f16' as const }))];
}

function runName({ variant, bDtype }: MatmulRun): string {
  return bDtype === 'f16' ? `${variant}, B f16` : variant;
}

/** Each run against matmulCpu on an odd shape (no dimension a multiple of any tile). */
async function validateMatmul(gpu: Gpu, runs: readonly MatmulRun[]): Promise<void> {
  for (const run of runs) {
    const c = matmulCase(gpu, run.variant, MATMUL_ODD_SHAPE, 11, run.bDtype);
    await validateCase(gpu, `matmul ${runName(run)}`, c);
  }
}

async function benchMatmul(
  gpu: Gpu,
  n: number,
  runs: readonly MatmulRun[],
): Promise<MatmulResult[]> {
  const results: MatmulResult[] = [];
  const sizes = { M: n, N: n, K: n };
  for (const run of runs) {
    const timed = matmulCase(gpu, run.variant, sizes, 1, run.bDtype);
    const t = await time(gpu, timed, run.variant === 'naive' ? Math.min(samples, 3) : samples);
    timed.destroy();
    results.push({
      n,
      ...run,
      gflops: gflops(matmulFlops(sizes), t.medianMs),
      medianMs: t.medianMs,
    });
    progress(`matmul ${n} ${runName(run)}: ${t.medianMs.toFixed(2)} ms`);
  }
  return results;
}

interface ConvResult {
  layer: string;
  direction: 'forward' | 'backward';
  medianMs: number;
  gflops: number;
}

/**
 * One conv layer forward and backward: validated on a batch of 2, then timed at `g` with ReLU
 * fused and, for the first layer, no dX (its input needs no gradient).
 */
async function benchConv(
  gpu: Gpu,
  layer: string,
  g: Conv2dGeometry,
  O: number,
  variant: MatmulVariant,
): Promise<ConvResult[]> {
  const small = conv2dGeometry({ N: 2, C: g.C, H: g.H, W: g.W }, [g.KH, g.KW], 1, 'same');
  const inputGradient = layer !== 'conv1';
  const results: ConvResult[] = [];
  for (const direction of ['forward', 'backward'] as const) {
    const checked = convCase(gpu, small, O, direction, { policy: variant });
    await validateCase(gpu, `${layer} ${direction}`, checked);
    const options = { policy: variant, activation: 'relu', inputGradient, seed: 3 } as const;
    const timed = convCase(gpu, g, O, direction, options);
    const t = await time(gpu, timed);
    timed.destroy();
    const flops = convFlops(g, O, direction, inputGradient);
    results.push({ layer, direction, medianMs: t.medianMs, gflops: gflops(flops, t.medianMs) });
  }
  return results;
}

async function main(): Promise<void> {
  const gpu = await initDevice({ log: (l) => console.log(l) });
  progress('measuring the FMA peak...');
  const peakGflops = await measurePeak(gpu);
  progress('measuring the copy bandwidth...');
  const peakGBps = await measureBandwidth(gpu);
  const variants = gpu.hasSubgroups ? [...baseVariants, 'subgroupTile' as const] : baseVariants;
  const runs = matmulRuns(gpu, variants);
  await validateMatmul(gpu, runs);
  const matmulResults: MatmulResult[] = [];
  for (const n of quick ? [256, 512] : [256, 512, 1024])
    matmulResults.push(...(await benchMatmul(gpu, n, runs)));
  const fast = bestVariant(matmulResults);
  const convResults: ConvResult[] = [];
  const batch = 64;
  for (const { name, C, H, O } of REFERENCE_CONV_LAYERS) {
    const g = conv2dGeometry({ N: batch, C, H, W: H }, 5, 1, 'same');
    convResults.push(...(await benchConv(gpu, name, g, O, fast)));
  }
  report(gpu, { peakGflops, peakGBps }, matmulResults, convResults, fast);
  gpu.destroy();
}

/** The fastest f32 variant at the largest size: the conv layers' (which run in f32). */
function bestVariant(results: readonly MatmulResult[]): MatmulVariant {
  const largest = Math.max(...results.map((r) => r.n));
  const atLargest = results
    .filter((r) => r.n === largest && r.bDtype === 'f32')
    .sort((a, b) => b.gflops - a.gflops);
  return atLargest[0]?.variant ?? 'registerTile';
}

function report(
  gpu: Gpu,
  { peakGflops, peakGBps }: { peakGflops: number; peakGBps: number },
  mm: readonly MatmulResult[],
  conv: readonly ConvResult[],
  fast: MatmulVariant,
): void {
  printTable(`FMA peak: ${peakGflops.toFixed(1)} GFLOP/s`, [
    { kernel: 'fmaPeak', gflops: peakGflops },
  ]);
  printTable(`copy bandwidth: ${peakGBps.toFixed(1)} GB/s`, [
    { kernel: 'streamCopy', 'GB/s': peakGBps },
  ]);
  printTable(
    'matmul C[N,N] = A·B (median)',
    mm.map((r) => {
      const naive = mm.find((x) => x.n === r.n && x.variant === 'naive');
      return {
        n: r.n,
        variant: runName(r),
        ms: r.medianMs,
        gflops: r.gflops,
        'of peak': `${((100 * r.gflops) / peakGflops).toFixed(0)}%`,
        'vs naive': naive ? `${(r.gflops / naive.gflops).toFixed(1)}x` : '',
      };
    }),
  );
  printTable(
    `reference CNN conv layers, batch 64 (${fast} matmul, median)`,
    conv.map((r) => ({ layer: r.layer, direction: r.direction, ms: r.medianMs, gflops: r.gflops })),
  );
  const a = gpu.adapter;
  console.log(
    JSON.stringify({
      adapter: {
        vendor: a.vendor,
        architecture: a.architecture,
        description: a.description,
        kind: a.kind,
      },
      peakGflops,
      peakGBps,
      matmul: mm.map((r) => ({
        n: r.n,
        variant: r.variant,
        gflops: r.gflops,
        medianMs: r.medianMs,
      })),
      conv,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
