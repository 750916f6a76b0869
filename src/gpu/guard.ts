/**
 * Sentinel-guarded tensors: the tensor sits in the middle of a larger buffer whose guard regions
 * before and after hold a NaN bit pattern no kernel computes. A kernel that writes past its
 * tensor changes a guard word, and `strayWrite()` names where. (A write "before" index 0 wraps
 * to a huge u32 index, which robust access drops; the leading guard catches offset arithmetic
 * errors.) Used by the kernel tests and by the course's autograder.
 */
import type { Gpu } from './device';
import { readBytes, STORAGE_USAGE, type HostArray } from './buffers';
import { tensorByteLength, type DType, type GpuTensor } from './tensor';

/** The guard word: a quiet NaN with a payload no arithmetic produces. */
export const SENTINEL_WORD = 0x7fc0beef;

export interface GuardedTensor {
  tensor: GpuTensor;
  /** Undefined when every guard word is intact, else where the first stray write landed. */
  strayWrite(): Promise<string | undefined>;
  destroy(): void;
}

/**
 * A tensor of `shape` inside guards. Its contents start as `initial` when given, else as the
 * sentinel (`fill` overrides it), so an element a kernel forgot to write fails any closeness check.
 */
export function guardedTensor(
  gpu: Gpu,
  shape: readonly number[],
  dtype: DType = 'f32',
  contents: { initial?: HostArray; fill?: number } = {},
): GuardedTensor {
  const guard = Math.max(256, gpu.limits.minStorageBufferOffsetAlignment);
  const byteLength = tensorByteLength(shape, dtype);
  const size = guard * 2 + Math.ceil(byteLength / guard) * guard;
  const buffer = gpu.device.createBuffer({ label: 'guarded', size, usage: STORAGE_USAGE });
  const words = new Uint32Array(size / 4).fill(SENTINEL_WORD);
  const body = words.subarray(guard / 4, (guard + byteLength) / 4);
  if (contents.initial)
    body.set(new Uint32Array(contents.initial.buffer, contents.initial.byteOffset, body.length));
  else body.fill(contents.fill ?? SENTINEL_WORD);
  gpu.device.queue.writeBuffer(buffer, 0, words);
  // The binding spans the tensor AND the guard after it: robust buffer access silently drops
  // writes past a binding's end, so a guard outside the binding would never see an overrun.
  const tensor: GpuTensor = {
    buffer,
    shape: [...shape],
    dtype,
    byteOffset: guard,
    byteLength: byteLength + guard,
  };
  return {
    tensor,
    async strayWrite() {
      const all = new Uint32Array(await readBytes(gpu, buffer, 0, size));
      const before = all.subarray(0, guard / 4).findIndex((w) => w !== SENTINEL_WORD);
      if (before >= 0)
        return `a write ${guard / 4 - before} elements before the start of the tensor`;
      const after = all.subarray((guard + byteLength) / 4).findIndex((w) => w !== SENTINEL_WORD);
      if (after >= 0) return `a write ${after} elements past the end of the tensor`;
      return undefined;
    },
    destroy: () => buffer.destroy(),
  };
}
