/**
 * GPU memory: create, upload and read tensors, and a buffer pool keyed by byteLength + usage with
 * byte counters (for the memory panel) and a double-free check. Ownership: a tensor made by
 * `createTensor`/`uploadTensor` owns a fresh buffer that the caller destroys (or releases to the
 * pool it came from); `readTensor` copies through a staging buffer that it destroys itself.
 */
import type { Gpu } from './device';
import { ShadergradError } from '../base/errors';
import {
  checkOwner,
  elementCount,
  recordOwner,
  tensorByteLength,
  type DType,
  type GpuTensor,
} from './tensor';

/** STORAGE | COPY_SRC | COPY_DST, as numbers: GPUBufferUsage is a global only after initDevice in Node. */
export const STORAGE_USAGE = 0x0080 | 0x0004 | 0x0008;

/** Host data of a tensor; an f16 tensor's is a Uint16Array of bit patterns (base/f16.ts). */
export type HostArray = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array;

const arrayTypes: Record<DType, new (b: ArrayBuffer, o: number, n: number) => HostArray> = {
  f32: Float32Array,
  f16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  u8: Uint8Array,
};

/** What a buffer's size grows with, which decides how to make it fit. */
export type BufferContents = 'batch' | 'model' | 'data';

/** How to shrink a buffer that holds `contents` (one place for every size error's advice). */
export function shrinkAdvice(contents: BufferContents): string {
  switch (contents) {
    case 'batch':
      return 'use a smaller batch';
    case 'model':
      return 'use a smaller model (fewer features or dense units)';
    case 'data':
      return 'train on fewer samples (--limit N) or a smaller dataset';
    default:
      return contents satisfies never;
  }
}

export interface TensorOptions {
  dtype?: DType;
  label?: string;
  /** What its size grows with, for the advice of a size error; default 'batch'. */
  contents?: BufferContents;
  /** Extra usage flags beyond STORAGE | COPY_SRC | COPY_DST. */
  usage?: GPUBufferUsageFlags;
}

/** A zero-filled tensor with its own buffer. */
export function createTensor(
  gpu: Gpu,
  shape: readonly number[],
  options: TensorOptions = {},
): GpuTensor {
  // From plain JavaScript `createTensor(gpu, shape, 'f16')` would make an f32 tensor unnoticed.
  if (typeof options !== 'object' || options === null)
    throw new ShadergradError(
      `createTensor: options must be an object such as { dtype: 'f16' }, got ${JSON.stringify(options)}`,
    );
  const dtype = options.dtype ?? 'f32';
  checkShape(shape, options.label);
  const byteLength = tensorByteLength(shape, dtype);
  checkSize(gpu, byteLength, options.label, options.contents);
  const buffer = gpu.device.createBuffer({
    label: options.label ?? 'tensor',
    size: Math.max(4, byteLength),
    usage: STORAGE_USAGE | (options.usage ?? 0),
  });
  // A host's device is not hooked by the memory tracker; its tensors are recorded here.
  recordOwner(buffer, gpu.device);
  return { buffer, shape: [...shape], dtype, byteOffset: 0, byteLength };
}

/** A tensor holding `data`; dtype follows the array type unless given. */
export function uploadTensor(
  gpu: Gpu,
  data: HostArray,
  shape: readonly number[],
  options: TensorOptions = {},
): GpuTensor {
  const dtype = options.dtype ?? dtypeOf(data);
  if (elementCount(shape) !== data.length) {
    throw new ShadergradError(
      `${options.label ?? 'upload'}: shape [${shape.join(', ')}] needs ${elementCount(shape)} elements, got ${data.length}`,
    );
  }
  const t = createTensor(gpu, shape, { ...options, dtype });
  writeTensor(gpu, t, data);
  return t;
}

/** Copies `data` into the tensor's range (queue write; visible to the next submit). */
export function writeTensor(gpu: Gpu, t: GpuTensor, data: HostArray): void {
  checkOwner(t.buffer, gpu.device, 'writeTensor');
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // writeBuffer takes shared memory too; the cast only widens what @webgpu/types declares.
  const padded = (bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes)) as Uint8Array<ArrayBuffer>;
  if (padded.byteLength > t.byteLength)
    throw new ShadergradError(`write of ${padded.byteLength} B into a ${t.byteLength} B tensor`);
  gpu.device.queue.writeBuffer(t.buffer, t.byteOffset, padded);
}

function padTo4(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}

function dtypeOf(a: HostArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Uint16Array) return 'f16';
  return 'u8';
}

/** Reads a tensor back as a typed array of its dtype (waits for the queue). */
export async function readTensor(gpu: Gpu, t: GpuTensor): Promise<HostArray> {
  const bytes = await readBytes(gpu, t.buffer, t.byteOffset, t.byteLength);
  return new arrayTypes[t.dtype](bytes, 0, elementCount(t.shape));
}

export async function readFloat32(gpu: Gpu, t: GpuTensor): Promise<Float32Array> {
  if (t.dtype !== 'f32') throw new ShadergradError(`readFloat32 of a ${t.dtype} tensor`);
  return (await readTensor(gpu, t)) as Float32Array;
}

/** Copies a buffer range through a staging buffer and returns a private copy of the bytes. */
export async function readBytes(
  gpu: Gpu,
  buffer: GPUBuffer,
  byteOffset: number,
  byteLength: number,
): Promise<ArrayBuffer> {
  if (gpu.lostError) throw gpu.lostError;
  checkOwner(buffer, gpu.device, 'readTensor');
  const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
  const staging = gpu.device.createBuffer({
    label: 'readback',
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = gpu.device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    gpu.device.queue.submit([encoder.finish()]);
    // A lost device never resolves mapAsync on some drivers; race it against device loss.
    await Promise.race([
      staging.mapAsync(GPUMapMode.READ),
      gpu.lost.then((e) => Promise.reject(e)),
    ]);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

function checkShape(shape: readonly number[], label = 'tensor'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShadergradError(
        `${label}: bad shape [${shape.join(', ')}]: sizes must be whole numbers >= 0`,
      );
  }
}

/** The largest tensor a kernel can bind on this device: its largest buffer and storage binding. */
export function largestBinding(gpu: Gpu): number {
  return Math.min(gpu.limits.maxBufferSize, gpu.limits.maxStorageBufferBindingSize);
}

/** Refuses, before allocating, a buffer the device cannot hold, with the number that does not fit. */
export function checkSize(
  gpu: Gpu,
  byteLength: number,
  label = 'tensor',
  contents: BufferContents = 'batch',
): void {
  const max = largestBinding(gpu);
  if (byteLength > max) {
    throw new ShadergradError(
      `${label}: ${byteLength} bytes exceeds this device's largest storage buffer (${max} bytes); ${shrinkAdvice(contents)}`,
    );
  }
}

// -------------------------------------------------------------------------------------------
// Buffer pool

/** Reuses buffers of equal size and usage; counts live and pooled bytes. */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  liveBytes = 0;
  pooledBytes = 0;
  created = 0;

  constructor(private readonly gpu: Gpu) {}

  acquire(
    byteLength: number,
    usage: GPUBufferUsageFlags = STORAGE_USAGE,
    label = 'pooled',
  ): GPUBuffer {
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const list = this.free.get(poolKey(size, usage));
    let buffer = list?.pop();
    if (buffer) {
      this.pooledBytes -= size;
    } else {
      checkSize(this.gpu, size, label);
      buffer = this.gpu.device.createBuffer({ label, size, usage });
      this.created++;
    }
    this.live.add(buffer);
    this.liveBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer))
      throw new ShadergradError(`buffer pool: double free or foreign buffer (${buffer.label})`);
    this.liveBytes -= buffer.size;
    this.pooledBytes += buffer.size;
    const key = poolKey(buffer.size, buffer.usage);
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Destroys every pooled (free) buffer; live ones stay with their owners. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}

function poolKey(size: number, usage: number): string {
  return `${size}|${usage}`;
}
