/**
 * Sentinel-guarded outputs: the output tensor sits in the middle of a larger buffer whose guard
 * regions before and after hold a NaN bit pattern no kernel computes. A kernel that writes past
 * its output changes a guard word; `check()` finds it. (Writes "before" index 0 wrap to huge u32
 * indices, which robust access drops; the leading guard catches offset arithmetic errors.) The output itself starts filled with NaN, so
 * an element the kernel forgot to write fails any closeness check.
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { readBytes } from '../../src/gpu/buffers';
import { tensorByteLength, type DType, type GpuTensor } from '../../src/gpu/tensor';

const SENTINEL = 0x7fc0beef;

export interface GuardedTensor {
  tensor: GpuTensor;
  /** Throws if any guard word changed. */
  check(): Promise<void>;
}

export function guardedOutput(
  gpu: Gpu,
  shape: readonly number[],
  dtype: DType = 'f32',
  fill = SENTINEL,
): GuardedTensor {
  const guard = Math.max(256, gpu.limits.minStorageBufferOffsetAlignment);
  const byteLength = tensorByteLength(shape, dtype);
  const size = guard * 2 + Math.ceil(byteLength / guard) * guard;
  const buffer = gpu.device.createBuffer({
    label: 'guarded-output',
    size,
    usage: 0x80 | 0x4 | 0x8,
  });
  const init = new Uint32Array(size / 4).fill(SENTINEL);
  init.fill(fill, guard / 4, (guard + byteLength) / 4);
  gpu.device.queue.writeBuffer(buffer, 0, init);
  // The binding spans the output AND the guard after it: robust buffer access silently drops
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
    async check() {
      const words = new Uint32Array(await readBytes(gpu, buffer, 0, size));
      const before = words.subarray(0, guard / 4).findIndex((w) => w !== SENTINEL);
      const afterStart = (guard + byteLength) / 4;
      const after = words.subarray(afterStart).findIndex((w) => w !== SENTINEL);
      expect(before, `write before the output, ${guard / 4 - before} words ahead of it`).toBe(-1);
      expect(after, `write after the output, word ${after} past its end`).toBe(-1);
    },
  };
}
