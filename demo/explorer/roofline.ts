/**
 * Roofline figures of a run: its arithmetic intensity (flops per byte moved) and how close it
 * comes to the adapter's two roofs, the FMA peak (fmaPeak.wgsl) and the copy bandwidth
 * (stream.wgsl), both measured on this page. Bytes are what the kernel must move at least; a
 * kernel timed in GB/s counts no flops (its work is the bytes), so it has no intensity and no
 * share of the FMA peak.
 */
import type { Unit } from './kernel';

/** The adapter's roofs, as measured on this page. */
export interface Peaks {
  gflops: number;
  gbps: number;
}

export interface Roofline {
  /** Flops per byte, when the kernel counts flops. */
  flopsPerByte?: number;
  /** Achieved GFLOP/s over the FMA peak, in percent. */
  ofFmaPeak?: number;
  /** Achieved GB/s over the copy bandwidth, in percent. */
  ofBandwidth: number;
}

/** What one run moved and computed: `work` in the unit's kind, `bytes` moved at least. */
export interface RunWork {
  unit: Unit;
  /** Flops (GFLOP/s kernels) or bytes (GB/s kernels) per run. */
  work: number;
  /** Bytes moved at least; for a GB/s kernel, its work. */
  bytes: number;
  medianMs: number;
}

export function roofline({ unit, work, bytes, medianMs }: RunWork, peaks: Peaks): Roofline {
  const perMs = (amount: number): number => (medianMs > 0 ? amount / (medianMs * 1e6) : 0);
  const gbps = perMs(bytes); // bytes / (ms·1e6) = GB/s
  const ofBandwidth = (100 * gbps) / peaks.gbps;
  if (unit === 'GB/s') return { ofBandwidth };
  return {
    flopsPerByte: bytes > 0 ? work / bytes : undefined,
    ofFmaPeak: (100 * perMs(work)) / peaks.gflops,
    ofBandwidth,
  };
}

/** Bytes a GFLOP/s kernel moves at least: every buffer of its plan (4-byte elements) once. */
export function planBytes(buffers: Readonly<Record<string, number>>): number {
  return 4 * Object.values(buffers).reduce((a, n) => a + n, 0);
}
