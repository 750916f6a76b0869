/**
 * A short soak (bench/soak.ts runs the long one): a few hundred steps of a tiny MLP with
 * snapshots and evaluations, sampling the live GPU buffers and the JS heap. After the first
 * epoch nothing may leak: the buffer count and bytes stay exactly the same, the heap within a
 * few MiB.
 */
import { describe, expect, it } from 'vitest';
import { limitDataset } from '../../src/data/datasets';
import { loadMnist } from '../../src/data/datasetsNode';
import { mlp, runSoak } from '../../bench/soakRun';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('soak', () => {
  it('400 steps of a tiny MLP keep GPU buffers constant and the heap flat', async () => {
    const mnist = await loadMnist();
    const sets = { train: limitDataset(mnist.train, 512), test: limitDataset(mnist.test, 200) };
    const before = gpu().memory.stats().liveBuffers;
    const r = await runSoak(gpu(), sets, {
      model: mlp(32),
      steps: 400,
      every: 64,
      batch: 16,
      snapshotEvery: 10,
      heapSlackBytes: 4 * 2 ** 20,
    });
    console.log(
      `soak: ${r.samples.length} samples, ${r.samples[0]?.liveBuffers} buffers, heap growth ${(r.heapGrowthBytes / 1024).toFixed(0)} KiB, ${r.stepsPerSecond.toFixed(0)} steps/s`,
    );
    expect(r.samples.length).toBeGreaterThanOrEqual(6);
    expect(r.samples.map((s) => s.liveBuffers)).toEqual(
      r.samples.map(() => r.samples[0]?.liveBuffers),
    );
    expect(r.samples.map((s) => s.liveBytes)).toEqual(r.samples.map(() => r.samples[0]?.liveBytes));
    expect(r.heapGrowthBytes).toBeLessThan(4 * 2 ** 20);
    expect(r.flat).toBe(true);
    // And everything the run made is gone after it.
    expect(gpu().memory.stats().liveBuffers).toBe(before);
  }, 120_000);
});
