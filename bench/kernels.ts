/**
 * Kernel benchmark (Node): the adapter's FMA peak, matmul naive vs tiled at N = 256/512/1024, and
 * the reference CNN's conv layers at batch 64, forward and backward. Every kernel is validated
 * against its CPU twin before it is timed; each time is the median of several samples after
 * warm-up. Prints tables, then one JSON line (the last line of stdout).
 *
 *   npm run bench:kernels [-- --quick]      (--quick: fewer sizes and samples)
 *
 * GFLOP/s = flops / time: matmul 2·M·N·K, conv 2·N·O·OH·OW·C·KH·KW per product (backward: two
 * products, dWeight and dX), FMA peak 64 flops per invocation per round.
 */
import { initDevice, type Gpu } from '../src/gpu/device';
import { createTensor, readFloat32, writeTensor } from '../src/gpu/buffers';
import { runCalls, type KernelCall } from '../src/gpu/dispatch';
import { timeCalls } from '../src/gpu/timing';
import type { GpuTensor } from '../src/gpu/tensor';
import { fmaPeak } from '../src/kernels/fmaPeak';
import { fmaPeakCpu, fmaPeakFlops } from '../src/kernels/fmaPeak.cpu';
import { matmul, type MatmulVariant } from '../src/kernels/matmul';
import {
  conv2dBackward,
  conv2dColsShape,
  conv2dForward,
  conv2dInputGradScratch,
} from '../src/kernels/conv2d';
import { conv2dForwardCpu } from '../src/kernels/conv2d.cpu';
import { conv2dGeometry, type Conv2dGeometry } from '../src/kernels/geometry';
import { gflops, printTable, progress } from './report';
import { randomFloats, validateSample } from './validate';

const quick = process.argv.includes('--quick');
const samples = quick ? 3 : 7;
const baseVariants: MatmulVariant[] = ['naive', 'registerTile', 'workgroupTile'];

async function measurePeak(gpu: Gpu): Promise<number> {
  const check = createTensor(gpu, [300]);
  await runCalls(gpu, [fmaPeak({ sums: check, iterations: 64, mul: 0.9, add: 0.05 })]);
  const want = new Float32Array(300);
  fmaPeakCpu({ sums: want, iterations: 64, mul: 0.9, add: 0.05 });
  validateSample('fmaPeak', await readFloat32(gpu, check), want, 1e-4);
  const count = 256 * 1024;
  const iterations = 512;
  const sums = createTensor(gpu, [count]);
  const t = await timeCalls(gpu, [fmaPeak({ sums, iterations, mul: 0.999, add: 0.001 })], {
    samples,
  });
  return gflops(fmaPeakFlops(count, iterations), t.medianMs);
}

interface MatmulResult {
  n: number;
  variant: MatmulVariant;
  gflops: number;
  medianMs: number;
}

async function benchMatmul(gpu: Gpu, n: number): Promise<MatmulResult[]> {
  const aHost = randomFloats(n * n, 1);
  const bHost = randomFloats(n * n, 2);
  const a = upload(gpu, aHost, [n, n]);
  const b = upload(gpu, bHost, [n, n]);
  const out = createTensor(gpu, [n, n]);
  const results: MatmulResult[] = [];
  const variants: MatmulVariant[] = gpu.hasSubgroups
    ? [...baseVariants, 'subgroupTile']
    : baseVariants;
  for (const variant of variants) {
    const call = matmul({ a, b, out, M: n, N: n, K: n }, variant);
    await runCalls(gpu, [call]);
    validateMatmulSample(variant, n, aHost, bHost, await readFloat32(gpu, out));
    const t = await timeCalls(gpu, [call], {
      samples: variant === 'naive' ? Math.min(samples, 3) : samples,
    });
    results.push({ n, variant, gflops: gflops(2 * n * n * n, t.medianMs), medianMs: t.medianMs });
    progress(`matmul ${n} ${variant}: ${t.medianMs.toFixed(2)} ms`);
  }
  [a, b, out].forEach((t) => t.buffer.destroy());
  return results;
}

/** Checks 256 random entries of C = A·B against float64 dot products. */
function validateMatmulSample(
  variant: string,
  n: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
): void {
  for (let s = 0; s < 256; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729) % n;
    let ref = 0;
    let mag = 0;
    for (let k = 0; k < n; k++) {
      ref += (a[i * n + k] ?? 0) * (b[k * n + j] ?? 0);
      mag += Math.abs((a[i * n + k] ?? 0) * (b[k * n + j] ?? 0));
    }
    const err = Math.abs((c[i * n + j] ?? NaN) - ref);
    if (!(err <= 4 * 2 ** -23 * n * mag + 1e-6))
      throw new Error(`matmul ${variant} n=${n}: C[${i},${j}] = ${c[i * n + j]}, expected ${ref}`);
  }
}

function upload(gpu: Gpu, data: Float32Array, shape: number[]) {
  const t = createTensor(gpu, shape);
  writeTensor(gpu, t, data);
  return t;
}

interface ConvResult {
  layer: string;
  direction: 'forward' | 'backward';
  medianMs: number;
  gflops: number;
}

async function benchConv(
  gpu: Gpu,
  layer: string,
  g: Conv2dGeometry,
  O: number,
  variant: MatmulVariant,
): Promise<ConvResult[]> {
  await validateConv(
    gpu,
    layer,
    { ...conv2dGeometry({ N: 2, C: g.C, H: g.H, W: g.W }, [g.KH, g.KW], 1, 'same') },
    O,
    variant,
  );
  const R = g.C * g.KH * g.KW;
  const S = g.OH * g.OW;
  const x = upload(gpu, randomFloats(g.N * g.C * g.H * g.W, 3), [g.N, g.C, g.H, g.W]);
  const weight = upload(gpu, randomFloats(O * R, 4), [O, g.C, g.KH, g.KW]);
  const bias = upload(gpu, randomFloats(O, 5), [O]);
  const out = createTensor(gpu, [g.N, O, g.OH, g.OW]);
  const cols = createTensor(gpu, conv2dColsShape(g));
  const made: GpuTensor[] = [];
  const scratch = conv2dInputGradScratch(g, O, variant, (_, shape) => {
    made.push(createTensor(gpu, shape));
    return made[made.length - 1] as GpuTensor;
  });
  const dX = createTensor(gpu, [g.N, g.C, g.H, g.W]);
  const dWeight = createTensor(gpu, [O, g.C, g.KH, g.KW]);
  const dBias = createTensor(gpu, [O]);
  const flops = 2 * g.N * O * S * R;
  const forward: KernelCall[] = conv2dForward(
    { x, weight, bias, out, cols, geometry: g, O, activation: 'relu' },
    variant,
  );
  const backward: KernelCall[] = conv2dBackward(
    {
      x,
      weight,
      dOut: out,
      dX: layer === 'conv1' ? undefined : dX,
      dWeight,
      dBias,
      cols,
      ...scratch,
      geometry: g,
      O,
    },
    variant,
  );
  const tf = await timeCalls(gpu, forward, { samples });
  const tb = await timeCalls(gpu, backward, { samples });
  const backwardFlops = layer === 'conv1' ? flops : 2 * flops;
  [x, weight, bias, out, cols, ...made, dX, dWeight, dBias].forEach((t) => t.buffer.destroy());
  return [
    { layer, direction: 'forward', medianMs: tf.medianMs, gflops: gflops(flops, tf.medianMs) },
    {
      layer,
      direction: 'backward',
      medianMs: tb.medianMs,
      gflops: gflops(backwardFlops, tb.medianMs),
    },
  ];
}

async function validateConv(
  gpu: Gpu,
  layer: string,
  g: Conv2dGeometry,
  O: number,
  variant: MatmulVariant,
): Promise<void> {
  const R = g.C * g.KH * g.KW;
  const xHost = randomFloats(g.N * g.C * g.H * g.W, 6);
  const wHost = randomFloats(O * R, 7);
  const out = createTensor(gpu, [g.N, O, g.OH, g.OW]);
  const cols = createTensor(gpu, conv2dColsShape(g));
  await runCalls(
    gpu,
    conv2dForward(
      {
        x: upload(gpu, xHost, [g.N, g.C, g.H, g.W]),
        weight: upload(gpu, wHost, [O, g.C, g.KH, g.KW]),
        out,
        cols,
        geometry: g,
        O,
      },
      variant,
    ),
  );
  const want = new Float32Array(g.N * O * g.OH * g.OW);
  conv2dForwardCpu({ x: xHost, weight: wHost, out: want, geometry: g, O });
  validateSample(`${layer} forward`, await readFloat32(gpu, out), want, 4 * 2 ** -23 * R * R);
}

async function main(): Promise<void> {
  const gpu = await initDevice({ log: (l) => console.log(l) });
  progress('measuring the FMA peak...');
  const peakGflops = await measurePeak(gpu);
  const matmulResults: MatmulResult[] = [];
  for (const n of quick ? [256, 512] : [256, 512, 1024])
    matmulResults.push(...(await benchMatmul(gpu, n)));
  const fast = bestVariant(matmulResults);
  const convResults: ConvResult[] = [];
  const batch = 64;
  convResults.push(
    ...(await benchConv(
      gpu,
      'conv1',
      conv2dGeometry({ N: batch, C: 1, H: 28, W: 28 }, 5, 1, 'same'),
      32,
      fast,
    )),
  );
  convResults.push(
    ...(await benchConv(
      gpu,
      'conv2',
      conv2dGeometry({ N: batch, C: 32, H: 14, W: 14 }, 5, 1, 'same'),
      64,
      fast,
    )),
  );
  report(gpu, peakGflops, matmulResults, convResults, fast);
  gpu.destroy();
}

function bestVariant(results: readonly MatmulResult[]): MatmulVariant {
  const largest = Math.max(...results.map((r) => r.n));
  const atLargest = results.filter((r) => r.n === largest).sort((a, b) => b.gflops - a.gflops);
  return atLargest[0]?.variant ?? 'registerTile';
}

function report(
  gpu: Gpu,
  peakGflops: number,
  mm: readonly MatmulResult[],
  conv: readonly ConvResult[],
  fast: MatmulVariant,
): void {
  printTable(`FMA peak: ${peakGflops.toFixed(1)} GFLOP/s`, [
    { kernel: 'fmaPeak', gflops: peakGflops },
  ]);
  printTable(
    'matmul C[N,N] = A·B (median)',
    mm.map((r) => {
      const naive = mm.find((x) => x.n === r.n && x.variant === 'naive');
      return {
        n: r.n,
        variant: r.variant,
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
