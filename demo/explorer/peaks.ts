/**
 * The adapter's two roofs, measured once on the page (on demand, or before the first run's
 * figures): the FMA peak and the copy bandwidth, each validated against its twin on a small case
 * first, then timed (median of a few samples) on one big enough to keep the GPU busy. Sizes are
 * modest so a software adapter (SwiftShader, lavapipe) takes a second or two, not minutes.
 */
import { type Gpu } from '../../src/index';
import { fmaPeakFlops, streamCopyBytes, timeCalls } from '../../src/kernelApi';
import { fmaPeakCase, streamCopyCase, validateCase, type KernelCase } from '../../bench/cases';
import { type Peaks } from './roofline';

const FMA = { count: 64 * 1024, iterations: 256 };
const COPY_COUNT = 4 * 1024 * 1024; // 16 MiB each way
const SAMPLES = 3;

async function medianMs(gpu: Gpu, c: KernelCase): Promise<number> {
  try {
    return (await timeCalls(gpu, c.calls, { warmup: 1, samples: SAMPLES })).medianMs;
  } finally {
    c.destroy();
  }
}

/** Measures both roofs; throws (naming the kernel) if either disagrees with its twin. */
export async function measurePeaks(gpu: Gpu): Promise<Peaks> {
  await validateCase(gpu, 'fmaPeak', fmaPeakCase(gpu, { count: 300, iterations: 64 }));
  // 65537: the scalar entry point; 65540: the vec4 one, which the timed (multiple of 4) count takes.
  await validateCase(gpu, 'streamCopy', streamCopyCase(gpu, 65537));
  await validateCase(gpu, 'streamCopyVec4', streamCopyCase(gpu, 65540));
  const fmaMs = await medianMs(gpu, fmaPeakCase(gpu, FMA, { mul: 0.999, add: 0.001 }));
  const copyMs = await medianMs(gpu, streamCopyCase(gpu, COPY_COUNT));
  // GFLOP/s = flops / (ms·1e6); GB/s = bytes / (ms·1e6).
  return {
    gflops: fmaPeakFlops(FMA.count, FMA.iterations) / (fmaMs * 1e6),
    gbps: streamCopyBytes(COPY_COUNT) / (copyMs * 1e6),
  };
}
