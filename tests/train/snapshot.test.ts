/**
 * In-memory snapshots and resume after device loss, on a tiny CNN: snapshots land every N steps
 * and at each epoch's end without per-step buffers; a loss (injected through the device wrapper,
 * or a real device.destroy()) stops the epoch with a DeviceLostError; resuming on a new device
 * from a snapshot at step s <= k finishes the run with weights bit-identical to a run that was
 * never interrupted (same seed, same data order).
 */
import { describe, expect, it, vi } from 'vitest';
import { initDevice, DeviceLostError, type Gpu } from '../../src/gpu/device';
import { DeviceRecovery } from '../../src/train/recovery';
import type { Snapshot } from '../../src/train/snapshot';
import { uploadDataset, type GpuDataset, type Trainer } from '../../src/train/trainer';
import { limitDataset, type Dataset } from '../../src/data/datasets';
import { loadMnist } from '../../src/data/datasetsNode';
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';
import { createTrainer } from '../../src/models/network';
import { useTestGpu } from '../helpers/gpu';
import { forceChoices, memoryStore } from '../helpers/tuneStore';

const EPOCHS = 2;
const SNAPSHOT_EVERY = 4;
/** 512 samples / batch 32 = 16 steps per epoch. */
const STEPS = 16;

let data: Dataset;
let straight: Map<string, Float32Array>;

const config: TrainConfig = {
  ...defaultTrainConfig(),
  model: cnnFromKnobs({ features: [4, 8], dense: 32 }),
  batchSize: 32,
  seed: 11,
  snapshotEvery: SNAPSHOT_EVERY,
};

const toGpu = (g: Gpu): GpuDataset =>
  uploadDataset(g, {
    images: data.images,
    labels: data.labels,
    count: data.count,
    sampleShape: [1, 28, 28],
  });

async function weights(t: Trainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const name of t.store.params.keys()) out.set(name, await t.store.read(name));
  return out;
}

function expectBitIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, w] of a) {
    const other = b.get(name) ?? new Float32Array();
    expect(Buffer.from(w.buffer).equals(Buffer.from(other.buffer)), name).toBe(true);
  }
}

const gpu = useTestGpu(async (g) => {
  data = limitDataset((await loadMnist()).train, STEPS * 32);
  const trainer = createTrainer(g, config);
  const d = toGpu(g);
  for (let e = 1; e <= EPOCHS; e++) await trainer.trainEpoch(d, e);
  straight = await weights(trainer);
  trainer.destroy();
});

/**
 * Trains on a device of its own and calls `interrupt` when global step `k` has been read back
 * (readEvery 1, so the epoch stops within a step or two of k); returns the trainer, its device
 * and the error that stopped the run.
 */
async function interruptedRun(k: number, interrupt: (g: Gpu) => void) {
  const own = await initDevice();
  const trainer = createTrainer(own, config);
  const d = toGpu(own);
  let error: unknown;
  for (let e = 1; e <= EPOCHS && error === undefined; e++) {
    await trainer
      .trainEpoch(d, e, (p) => (e - 1) * STEPS + p.step === k && interrupt(own), 1)
      .catch((err: unknown) => (error = err));
  }
  return { trainer, own, error };
}

describe('snapshots', () => {
  it('land every N steps and at each epoch end, and a step creates no buffers', async () => {
    const trainer = createTrainer(gpu(), config);
    const d = toGpu(gpu());
    const taken: Snapshot[] = [];
    trainer.snapshots.onSnapshot = (s) => void taken.push(s);
    await trainer.trainEpoch(d, 1);
    const live = gpu().memory.stats().liveBuffers;
    await trainer.trainEpoch(d, 2);
    expect(gpu().memory.stats().liveBuffers).toBe(live);
    // step 0 is the snapshot taken before the first step; 16 and 32 end an epoch.
    expect(taken.map((s) => s.step)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32]);
    expect(taken.map((s) => `${s.position.epoch}.${s.position.batch}`).slice(3, 6)).toEqual([
      '1.12',
      '2.0',
      '2.4',
    ]);
    expectBitIdentical(new Map(trainer.snapshots.latest?.params), straight);
    expect(trainer.snapshots.latest?.optimizerStep).toBe(EPOCHS * STEPS);
    trainer.destroy();
  });

  it('resume without any snapshot says why', () => {
    const trainer = createTrainer(gpu(), { ...config, snapshotEvery: 0 });
    expect(() => trainer.resume(gpu())).toThrow(/snapshots are off \(snapshotEvery 0\)/);
    trainer.destroy();
  });
});

describe('resume after device loss', () => {
  it('an injected loss stops the epoch; resume on a new device finishes bit-identically', async () => {
    const k = STEPS + 6; // in epoch 2: the latest snapshot is at step 20
    const { trainer, own, error } = await interruptedRun(k, (g) => g.simulateLoss('drill'));
    expect(error).toBeInstanceOf(DeviceLostError);
    const s = trainer.snapshots.latest;
    expect(s?.step).toBeLessThanOrEqual(k);
    expect(s?.step).toBeGreaterThan(k - SNAPSHOT_EVERY);
    await expect(trainer.trainEpoch(toGpu(own), 2)).rejects.toBeInstanceOf(DeviceLostError);
    own.destroy();

    const fresh = await initDevice();
    const position = trainer.resume(fresh);
    expect(position).toEqual(s?.position);
    const stale = toGpu(own);
    await expect(trainer.trainEpoch(stale, 2)).rejects.toThrow(/upload it again/);
    const d = toGpu(fresh);
    for (let e = position.epoch; e <= EPOCHS; e++) await trainer.trainEpoch(d, e);
    expectBitIdentical(await weights(trainer), straight);
    trainer.destroy();
    fresh.destroy();
  });

  it('a real device.destroy() is recovered by DeviceRecovery, bit-identically', async () => {
    const k = 10; // in epoch 1: the latest snapshot is at step 8
    const own = await initDevice();
    const trainer = createTrainer(own, config);
    let d = toGpu(own);
    const recovered: string[] = [];
    const recovery = new DeviceRecovery(trainer, {
      onRecovered: (r) => {
        d = toGpu(r.gpu);
        recovered.push(`${r.error.reason} -> ${r.position.epoch}.${r.position.batch}`);
      },
    });
    for (let e = 1; e <= EPOCHS; e++) {
      const epoch = e;
      await recovery.run(() =>
        trainer.trainEpoch(
          d,
          epoch,
          (p) => recovery.recoveries === 0 && p.step === k && trainer.gpu.destroy(),
          1,
        ),
      );
    }
    expect(recovered).toEqual(['destroyed -> 1.8']);
    expectBitIdentical(await weights(trainer), straight);
    trainer.destroy();
    trainer.gpu.destroy();
  });

  it('a loss while a snapshot copy is in flight leaves no WebGPU error behind', async () => {
    // 32 steps per epoch, snapshots every 8, read-backs every 20: the loss at step 20 lands while
    // the step-16 copy may still be mapping, and the step-24 snapshot must not reuse its buffer.
    const errors = vi.spyOn(console, 'error');
    const own = await initDevice();
    const trainer = createTrainer(own, { ...config, snapshotEvery: 8 });
    const bigger = limitDataset((await loadMnist()).train, 1024);
    const upload = (g: Gpu): GpuDataset =>
      uploadDataset(g, { ...bigger, sampleShape: [1, bigger.rows, bigger.cols] });
    let d = upload(own);
    const recovery = new DeviceRecovery(trainer, { onRecovered: (r) => void (d = upload(r.gpu)) });
    const drill = (p: { step: number }): void => {
      if (p.step === 20 && recovery.recoveries === 0) own.simulateLoss();
    };
    await recovery.run(() => trainer.trainEpoch(d, 1, drill));
    expect(recovery.recoveries).toBe(1);
    const webgpu = errors.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('WebGPU'));
    errors.mockRestore();
    expect(webgpu).toEqual([]);
    expect(trainer.position).toEqual({ epoch: 2, batch: 0 });
    trainer.destroy();
    trainer.gpu.destroy();
  });

  it("rebuilds a tuned run's plans with its own kernels, whatever the cache holds by then", async () => {
    const store = memoryStore();
    const tune = { mode: 'cached' as const, store, minFlops: 0, budgetMs: 600_000 };
    const own = await initDevice();
    const trainer = createTrainer(own, config, { tune });
    const labels = async (t: Trainer) =>
      (await t.plan('train', config.batchSize)).prepared.map((c) => c.call.label);
    const before = await labels(trainer);
    const chosen = trainer.tunedChoices();
    expect(chosen.length).toBeGreaterThan(0);
    expect(chosen.every((c) => c.candidates === undefined)).toBe(true);
    await trainer.snapshot();
    own.simulateLoss('drill');
    // Meanwhile the cache changed: a new trainer would take what it holds now.
    forceChoices(store, 'naive 8x8');
    const fresh = await initDevice();
    const other = createTrainer(fresh, config, { tune });
    const others = await labels(other).finally(() => other.destroy());
    expect(others).not.toEqual(before);
    trainer.resume(fresh);
    try {
      expect(await labels(trainer)).toEqual(before);
      expect(trainer.tunedChoices().map((c) => c.choice)).toEqual(chosen.map((c) => c.choice));
    } finally {
      trainer.destroy();
      own.destroy();
      fresh.destroy();
    }
  });

  it('gives up after maxRecoveries and rethrows the loss', async () => {
    const own = await initDevice();
    const trainer = createTrainer(own, config);
    const recovery = new DeviceRecovery(trainer, { maxRecoveries: 0 });
    const d = toGpu(own);
    const run = recovery.run(() =>
      trainer.trainEpoch(d, 1, (p) => p.step === 2 && own.simulateLoss('again'), 1),
    );
    await expect(run).rejects.toThrow(/WebGPU device lost \(unknown\): again/);
    trainer.destroy();
    own.destroy();
  });
});
