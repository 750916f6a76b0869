/**
 * GpuTensor: a typed view of a range of a GPUBuffer. Kernels bind tensors, never raw buffers,
 * so shapes travel with the memory and a sub-range (a planned slot, or an output with sentinels
 * around it) binds like a whole buffer. The tensor does not own its buffer.
 */
import { ShadergradError } from '../base/errors';

export type DType = 'f32' | 'i32' | 'u32' | 'u8';

export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Byte offset of element 0 in `buffer`; a multiple of minStorageBufferOffsetAlignment. */
  readonly byteOffset: number;
  /** Bytes the tensor spans, rounded up to 4 (u8 data is read as packed u32 words). */
  readonly byteLength: number;
}

/**
 * The device that created each buffer: WebGPU buffers do not say, and a buffer used through
 * another device reads back as zeros (the copy fails validation) instead of failing.
 */
const owners = new WeakMap<GPUBuffer, GPUDevice>();

/** Records that `device` created `buffer`; every buffer of a device shadergrad made is recorded. */
export function recordOwner(buffer: GPUBuffer, device: GPUDevice): GPUBuffer {
  owners.set(buffer, device);
  return buffer;
}

/** Throws unless `buffer` belongs to `device` (a buffer made outside shadergrad passes unchecked). */
export function checkOwner(buffer: GPUBuffer, device: GPUDevice, what: string): void {
  const owner = owners.get(buffer);
  if (owner !== undefined && owner !== device)
    throw new ShadergradError(
      `${what}: tensor '${buffer.label}' belongs to another device than this Gpu (after a device loss, upload it again to the new one)`,
    );
}

export const bytesPerElement: Record<DType, number> = { f32: 4, i32: 4, u32: 4, u8: 1 };

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes for `count` elements of `dtype`, rounded up to whole 4-byte words. */
export function tensorByteLength(shape: readonly number[], dtype: DType): number {
  return Math.ceil((elementCount(shape) * bytesPerElement[dtype]) / 4) * 4;
}
