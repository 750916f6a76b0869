/**
 * Sentinel-guarded outputs for kernel tests (src/gpu/guard.ts does the work): `check()` fails
 * the test when the kernel wrote outside its output. The output itself starts filled with NaN,
 * so an element the kernel forgot to write fails any closeness check.
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { guardedTensor, SENTINEL_WORD } from '../../src/gpu/guard';
import type { DType, GpuTensor } from '../../src/gpu/tensor';

export interface GuardedTensor {
  tensor: GpuTensor;
  /** Throws if any guard word changed. */
  check(): Promise<void>;
}

export function guardedOutput(
  gpu: Gpu,
  shape: readonly number[],
  dtype: DType = 'f32',
  fill = SENTINEL_WORD,
): GuardedTensor {
  const guarded = guardedTensor(gpu, shape, dtype, { fill });
  return {
    tensor: guarded.tensor,
    async check() {
      expect(await guarded.strayWrite()).toBeUndefined();
    },
  };
}
