/**
 * A buffer past the device's storage-buffer limit is refused before anything is allocated, and
 * the advice fits what the buffer holds: the batch (activations), the model (weights, gradients,
 * optimizer state) or the data. A fake device with tiny limits: the checks run before any GPU call.
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/device';
import { checkSize, createTensor } from '../../src/gpu/buffers';
import { ParameterStore } from '../../src/graph/parameterStore';
import { uploadDataset } from '../../src/train/epoch';

/** Limits only: every call below must throw before it touches the device. */
const tiny = {
  limits: { maxBufferSize: 256, maxStorageBufferBindingSize: 256 },
} as unknown as Gpu;

describe('size errors', () => {
  it('advise a smaller batch for activations, the default', () => {
    expect(() => checkSize(tiny, 1000, 'activation x')).toThrow(
      "activation x: 1000 bytes exceeds this device's largest storage buffer (256 bytes); use a smaller batch",
    );
    expect(() => createTensor(tiny, [100], { label: 'y' })).toThrow(/; use a smaller batch$/);
  });

  it('refuse options that are not an object, before the size check (plain JavaScript)', () => {
    const call = createTensor as (gpu: Gpu, shape: number[], options: unknown) => unknown;
    expect(() => call(tiny, [2], 'f16')).toThrow(
      `createTensor: options must be an object such as { dtype: 'f16' }, got "f16"`,
    );
  });

  it('advise a smaller model for parameters', () => {
    const specs = [{ name: 'fc1.weight', shape: [10, 100], fanIn: 100 }];
    expect(() => new ParameterStore(tiny, specs, undefined, 1)).toThrow(
      /^fc1\.weight: 4000 bytes exceeds .*; use a smaller model \(fewer features or dense units\)$/,
    );
  });

  it('advise fewer samples for the dataset', () => {
    const d = { images: new Uint8Array(100), labels: new Uint8Array(100), count: 100 };
    expect(() => uploadDataset(tiny, { ...d, sampleShape: [1, 1, 1] })).toThrow(
      /^dataset\.perm: 400 bytes exceeds .*; train on fewer samples \(--limit N\) or a smaller dataset$/,
    );
  });
});
