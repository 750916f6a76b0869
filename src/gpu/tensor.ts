/**
 * GpuTensor: a typed view of a range of a GPUBuffer. Kernels bind tensors, never raw buffers,
 * so shapes travel with the memory and a sub-range (a planned slot, or an output with sentinels
 * around it) binds like a whole buffer. The tensor does not own its buffer.
 */
import { ShadergradError } from '../base/errors';

/** Element types; f16 (IEEE binary16) needs the device's `shader-f16` feature to be read. */
export type DType = 'f32' | 'f16' | 'i32' | 'u32' | 'u8';

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

export const bytesPerElement: Record<DType, number> = { f32: 4, f16: 2, i32: 4, u32: 4, u8: 1 };

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes for `count` elements of `dtype`, rounded up to whole 4-byte words. */
export function tensorByteLength(shape: readonly number[], dtype: DType): number {
  return Math.ceil((elementCount(shape) * bytesPerElement[dtype]) / 4) * 4;
}

/**
 * The largest offset alignment WebGPU lets a device ask for (minStorageBufferOffsetAlignment is a
 * power of two <= 256), so a view starting at a multiple of it binds on every device.
 */
export const PORTABLE_OFFSET_ALIGNMENT = 256;

/**
 * Samples [first, first + count) of a tensor whose leading axis is the batch: a view of the same
 * buffer. Its byte offset must be a multiple of PORTABLE_OFFSET_ALIGNMENT to bind (batchAlignment
 * gives the sample counts that are).
 */
export function sliceBatch(t: GpuTensor, first: number, count: number): GpuTensor {
  const [n = 0, ...rest] = t.shape;
  if (
    !Number.isInteger(first) ||
    !Number.isInteger(count) ||
    first < 0 ||
    count < 1 ||
    first + count > n
  )
    throw new ShadergradError(
      `sliceBatch: samples [${first}, ${first + count}) are outside the batch of ${n} ('${t.buffer.label}')`,
    );
  const sampleBytes = elementCount(rest) * bytesPerElement[t.dtype];
  const byteOffset = t.byteOffset + first * sampleBytes;
  if (byteOffset % PORTABLE_OFFSET_ALIGNMENT !== 0)
    throw new ShadergradError(
      `sliceBatch: sample ${first} of '${t.buffer.label}' starts at byte ${byteOffset}, not a multiple of ${PORTABLE_OFFSET_ALIGNMENT}`,
    );
  const shape = [count, ...rest];
  return { ...t, shape, byteOffset, byteLength: tensorByteLength(shape, t.dtype) };
}

/**
 * The smallest sample count whose multiples start a sliceBatch view of a tensor holding
 * `sampleBytes` per sample on an aligned boundary.
 */
export function batchAlignment(sampleBytes: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return PORTABLE_OFFSET_ALIGNMENT / gcd(PORTABLE_OFFSET_ALIGNMENT, sampleBytes);
}
