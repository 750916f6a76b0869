/**
 * Timing of kernel calls for benchmarks: calls are prepared once, warmed up, then each sample
 * encodes `repeat` copies of the list into one compute pass. GPU time comes from timestamp
 * queries at the pass boundaries when the device has `timestamp-query`, else from wall time
 * around submit -> onSubmittedWorkDone. Reported per repetition, as median/min/max over samples.
 */
import type { Gpu } from './device';
import {
  encodeCall,
  prepareCall,
  releaseCall,
  type KernelCall,
  type PreparedCall,
} from './dispatch';

export interface TimingOptions {
  warmup?: number;
  samples?: number;
  /** Copies of the call list per sample, to amortize submit overhead on tiny kernels. */
  repeat?: number;
  /** Force wall-clock timing even when timestamp queries exist. */
  wallClock?: boolean;
}

export interface TimingResult {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
  source: 'timestamp-query' | 'wall-clock';
}

export async function timeCalls(
  gpu: Gpu,
  calls: readonly KernelCall[],
  options: TimingOptions = {},
): Promise<TimingResult> {
  const { warmup = 2, samples = 7, repeat = 1 } = options;
  const prepared = await Promise.all(calls.map((c) => prepareCall(gpu, c)));
  const useTimestamps = gpu.hasTimestampQuery && options.wallClock !== true;
  const querySet = useTimestamps
    ? gpu.device.createQuerySet({ type: 'timestamp', count: 2 })
    : undefined;
  try {
    for (let i = 0; i < warmup; i++) await runOnce(gpu, prepared, repeat, undefined);
    const samplesMs: number[] = [];
    for (let i = 0; i < samples; i++)
      samplesMs.push((await runOnce(gpu, prepared, repeat, querySet)) / repeat);
    return summarize(samplesMs, querySet ? 'timestamp-query' : 'wall-clock');
  } finally {
    querySet?.destroy();
    prepared.forEach(releaseCall);
  }
}

/** Milliseconds for one submit of `repeat` copies of the calls. */
async function runOnce(
  gpu: Gpu,
  prepared: readonly PreparedCall[],
  repeat: number,
  querySet: GPUQuerySet | undefined,
): Promise<number> {
  const device = gpu.device;
  const encoder = device.createCommandEncoder({ label: 'timing' });
  const pass = encoder.beginComputePass({
    label: 'timing',
    ...(querySet
      ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
      : {}),
  });
  for (let r = 0; r < repeat; r++) for (const p of prepared) encodeCall(pass, p);
  pass.end();
  let resolve: GPUBuffer | undefined;
  let readback: GPUBuffer | undefined;
  if (querySet) {
    resolve = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    readback = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
  }
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wallMs = performance.now() - start;
  if (!readback || !resolve) return wallMs;
  await readback.mapAsync(GPUMapMode.READ);
  const [t0, t1] = new BigUint64Array(readback.getMappedRange().slice(0));
  readback.destroy();
  resolve.destroy();
  const gpuMs = t0 !== undefined && t1 !== undefined && t1 > t0 ? Number(t1 - t0) / 1e6 : 0;
  // Some drivers return zeros or quantized stamps; fall back to wall time when they do.
  return gpuMs > 0 ? gpuMs : wallMs;
}

function summarize(samplesMs: number[], source: TimingResult['source']): TimingResult {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return {
    medianMs: median,
    minMs: sorted[0] ?? 0,
    maxMs: sorted[sorted.length - 1] ?? 0,
    samplesMs,
    source,
  };
}

/** Median of a list (for benchmark tables). */
export function median(values: readonly number[]): number {
  return summarize([...values], 'wall-clock').medianMs;
}

export interface KernelProfileRow {
  label: string;
  medianMs: number;
}

/**
 * Times every call of a compiled step on its own (median of `samples` after one warm-up), in
 * schedule order. Per-call submits add fixed overhead, so the sum exceeds a real step slightly;
 * the shares are what matter.
 */
export async function profileCalls(
  gpu: Gpu,
  prepared: readonly PreparedCall[],
  samples = 3,
): Promise<KernelProfileRow[]> {
  const rows: KernelProfileRow[] = [];
  const querySet = gpu.hasTimestampQuery
    ? gpu.device.createQuerySet({ type: 'timestamp', count: 2 })
    : undefined;
  try {
    for (const p of prepared) {
      for (let i = 0; i < 1 + samples; i++) {
        const ms = await runOnce(gpu, [p], 1, querySet);
        if (i > 0) rows.push({ label: p.call.label, medianMs: ms });
      }
    }
  } finally {
    querySet?.destroy();
  }
  const merged = new Map<number, KernelProfileRow>();
  prepared.forEach((p, i) =>
    merged.set(i, {
      label: p.call.label,
      medianMs: median(rows.slice(i * samples, (i + 1) * samples).map((r) => r.medianMs)),
    }),
  );
  return [...merged.values()];
}

/**
 * The step of the device's timestamps, in ns: the greatest common divisor of the raw stamps of a
 * few empty passes. Browsers may quantize timestamps (Chrome: 100 µs unless the user allows
 * precise ones), which bounds what a single pass's time can resolve. Undefined without
 * timestamp-query or when the driver returns zeros.
 */
export async function timestampResolutionNs(gpu: Gpu, passes = 16): Promise<number | undefined> {
  if (!gpu.hasTimestampQuery) return undefined;
  const device = gpu.device;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * passes });
  const resolve = device.createBuffer({
    size: 16 * passes,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    size: 16 * passes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'timestamp-resolution' });
    for (let i = 0; i < passes; i++) {
      encoder
        .beginComputePass({
          timestampWrites: {
            querySet,
            beginningOfPassWriteIndex: 2 * i,
            endOfPassWriteIndex: 2 * i + 1,
          },
        })
        .end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16 * passes);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const stamps = [...new BigUint64Array(readback.getMappedRange().slice(0))].filter(
      (t) => t > 0n,
    );
    if (stamps.length === 0) return undefined;
    const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
    return Number(stamps.reduce((g, t) => gcd(g, t), 0n));
  } finally {
    querySet.destroy();
    resolve.destroy();
    readback.destroy();
  }
}
