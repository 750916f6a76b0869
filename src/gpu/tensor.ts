/**
 * GpuTensor: a typed view of a range of a GPUBuffer. Kernels bind tensors, never raw buffers,
 * so shapes travel with the memory and a sub-range (a planned slot, or an output with sentinels
 * around it) binds like a whole buffer. The tensor does not own its buffer.
 */
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
