/**
 * Kernel timing (src/gpu/timing.ts), for benchmarks. No assertion here is about how fast anything
 * is (STYLE 2.8): only the shape of the results, the median, and that timing leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { createTensor } from '../../src/gpu/buffers';
import { prepareCall, releaseCall } from '../../src/gpu/dispatch';
import { median, profileCalls, timeCalls } from '../../src/gpu/timing';
import { activationForward } from '../../src/kernels/activation';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, of an unsorted list', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]); // the caller's list is not sorted in place
  });
});

/** A small call to time: ReLU over 64 floats. */
function relu() {
  return activationForward({
    x: createTensor(gpu(), [64]),
    y: createTensor(gpu(), [64]),
    activation: 'relu',
  });
}

describe('timeCalls', () => {
  it('returns one sample per requested sample, summarized, and releases what it prepared', async () => {
    const call = relu();
    await gpu().reclaim();
    const before = gpu().memory.stats().liveBuffers;
    const r = await timeCalls(gpu(), [call], { warmup: 1, samples: 3, repeat: 2, wallClock: true });
    expect(r.source).toBe('wall-clock');
    expect(r.samplesMs).toHaveLength(3);
    expect(r.minMs).toBe(Math.min(...r.samplesMs));
    expect(r.maxMs).toBe(Math.max(...r.samplesMs));
    expect(r.medianMs).toBe(median(r.samplesMs));
    expect(r.samplesMs.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
    // The uniform buffer each prepared call owns is destroyed again.
    expect(gpu().memory.stats().liveBuffers).toBe(before);
  });

  it('uses timestamp queries exactly when the device has them and wall time is not forced', async () => {
    const r = await timeCalls(gpu(), [relu()], { warmup: 0, samples: 1 });
    expect(r.source).toBe(gpu().hasTimestampQuery ? 'timestamp-query' : 'wall-clock');
  });
});

describe('profileCalls', () => {
  it('gives one row per call, in schedule order, labelled like the call', async () => {
    const calls = [relu(), relu()];
    const prepared = await Promise.all(calls.map((c) => prepareCall(gpu(), c)));
    try {
      const rows = await profileCalls(gpu(), prepared, 1);
      expect(rows.map((r) => r.label)).toEqual(calls.map((c) => c.label));
      expect(rows.every((r) => Number.isFinite(r.medianMs) && r.medianMs >= 0)).toBe(true);
    } finally {
      prepared.forEach(releaseCall);
    }
  });
});
