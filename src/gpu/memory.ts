/**
 * GPU memory accounting and the out-of-memory guard of a device shadergrad owns.
 *
 * Every buffer the device creates is counted (live buffers and bytes: the soak benchmark checks
 * they stay flat over thousands of steps). A destroyed buffer's memory does not come back at
 * once: Dawn frees it when the queue completes a submit made after the destroy. Until then its
 * bytes are "pending"; `reclaimMemory` submits an empty command buffer and waits for the queue,
 * after which they are free again.
 *
 * On a software adapter (lavapipe, SwiftShader) GPU memory is this process's memory. Lavapipe
 * maps a buffer's memory lazily, the first time the queue touches it, and under `ulimit -v` that
 * mmap fails inside its queue thread, which then segfaults: no WebGPU error is ever raised. So
 * when the process has an address-space limit, the tracker keeps a budget (the limit, minus the
 * address space in use once the device exists, minus a reserve for shader compiles and driver
 * threads) and refuses a buffer past it when it is created, before any work can touch it, with
 * the buffer's label and the sizes.
 */
import { ShadergradError } from '../base/errors';
import { mib } from '../base/units';
import { recordOwner } from './tensor';

/** A buffer would not fit this process's memory budget. */
export class OutOfMemoryError extends ShadergradError {
  constructor(
    readonly label: string,
    readonly byteLength: number,
    readonly stats: MemoryStats,
  ) {
    super(describeShortfall(label, byteLength, stats));
    this.name = 'OutOfMemoryError';
  }

  /** True when the buffer fits once destroyed buffers' memory has come back: reclaim, retry. */
  get retryable(): boolean {
    const { budgetBytes, liveBytes } = this.stats;
    return budgetBytes !== undefined && liveBytes + this.byteLength <= budgetBytes;
  }
}

export interface MemoryStats {
  liveBuffers: number;
  liveBytes: number;
  /** Bytes of destroyed buffers the driver has not yet given back. */
  pendingBytes: number;
  /** The most live bytes seen so far. */
  peakBytes: number;
  /** Bytes buffers may use in total; undefined when there is no limit to enforce. */
  budgetBytes: number | undefined;
}

/**
 * Address space kept free for what is not a buffer: LLVM compiling shaders, lavapipe's and
 * llvmpipe's threads, Dawn's staging for queue writes and read-backs, the JS heap growing.
 * Measured on lavapipe: the first submit alone maps about 600 MiB besides the buffers.
 */
export const MEMORY_RESERVE_BYTES = 1024 * 2 ** 20;

export class MemoryTracker {
  private readonly live = new Set<GPUBuffer>();
  liveBytes = 0;
  peakBytes = 0;
  /** Destroyed since the last submit: freed once a submit after them completes. */
  private unscheduledBytes = 0;
  private scheduledBytes = 0;

  constructor(readonly budgetBytes: number | undefined) {}

  stats(): MemoryStats {
    return {
      liveBuffers: this.live.size,
      liveBytes: this.liveBytes,
      pendingBytes: this.unscheduledBytes + this.scheduledBytes,
      peakBytes: this.peakBytes,
      budgetBytes: this.budgetBytes,
    };
  }

  /** The buffers alive now (to clean up after a failed multi-buffer allocation). */
  liveSet(): ReadonlySet<GPUBuffer> {
    return new Set(this.live);
  }

  /** Counts the device's buffers from now on; creation past the budget throws. */
  install(device: GPUDevice): void {
    const create = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
      this.check(descriptor.label ?? 'buffer', descriptor.size);
      return this.track(recordOwner(create(descriptor), device));
    };
    const queue = device.queue;
    const submit = queue.submit.bind(queue);
    queue.submit = (buffers: Iterable<GPUCommandBuffer>): undefined => {
      submit(buffers);
      this.scheduleFrees(queue);
      return undefined;
    };
  }

  private check(label: string, size: number): void {
    const budget = this.budgetBytes;
    if (budget === undefined) return;
    const s = this.stats();
    if (s.liveBytes + s.pendingBytes + size > budget) throw new OutOfMemoryError(label, size, s);
  }

  private track(buffer: GPUBuffer): GPUBuffer {
    const size = buffer.size;
    this.live.add(buffer);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = (): undefined => {
      if (this.live.delete(buffer)) {
        this.liveBytes -= size;
        this.unscheduledBytes += size;
      }
      destroy();
      return undefined;
    };
    return buffer;
  }

  /** Buffers destroyed before this submit are freed when it completes. */
  private scheduleFrees(queue: GPUQueue): void {
    const freed = this.unscheduledBytes;
    if (freed === 0) return;
    this.unscheduledBytes = 0;
    this.scheduledBytes += freed;
    const release = (): void => {
      this.scheduledBytes -= freed;
    };
    // A lost device may reject (or never settle): its memory is gone with it either way.
    queue.onSubmittedWorkDone().then(release, release);
  }
}

/** Gives destroyed buffers' memory back: an empty submit, then waits for the queue. */
export async function reclaimMemory(device: GPUDevice): Promise<void> {
  device.queue.submit([device.createCommandEncoder({ label: 'reclaim' }).finish()]);
  await device.queue.onSubmittedWorkDone();
}

/**
 * The buffer budget of a software adapter under an address-space limit (`ulimit -v`), from the
 * text of /proc/self/limits and /proc/self/status: the limit, minus the address space in use,
 * minus MEMORY_RESERVE_BYTES; undefined without a limit.
 */
export function addressSpaceBudget(limitsText: string, statusText: string): number | undefined {
  const limit = /^Max address space\s+(\d+)/m.exec(limitsText)?.[1];
  const vmKb = /^VmSize:\s+(\d+) kB/m.exec(statusText)?.[1];
  if (limit === undefined || vmKb === undefined) return undefined;
  return Math.max(0, Number(limit) - Number(vmKb) * 1024 - MEMORY_RESERVE_BYTES);
}

function describeShortfall(label: string, size: number, s: MemoryStats): string {
  const pending =
    s.pendingBytes > 0
      ? ` + ${mib(s.pendingBytes)} freed but not yet given back (await reclaimMemory and retry)`
      : '';
  return (
    `out of memory: ${label} needs ${mib(size)}, but ${s.liveBuffers} live buffers hold ` +
    `${mib(s.liveBytes)}${pending} of the ${mib(s.budgetBytes ?? 0)} this process may use for ` +
    `GPU buffers (its address-space limit, ulimit -v, minus a reserve); use a smaller batch or ` +
    `model, or raise the limit`
  );
}
