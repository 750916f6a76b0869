/**
 * GPU memory accounting and the out-of-memory guard: live buffers and bytes are counted, a
 * destroyed buffer's bytes stay pending until the queue moves on, a buffer past the budget is
 * refused with its label and the sizes, and (in a child process under `ulimit -v`, where lavapipe
 * would otherwise segfault) memory freed and reclaimed is usable again.
 */
import { describe, expect, it, vi } from 'vitest';
import { initDevice, type Gpu } from '../../src/gpu/device';
import { MemoryTracker, OutOfMemoryError } from '../../src/gpu/memory';
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';
import { createTrainer } from '../../src/models/network';
import { startScript, viteNodeBaseKb } from '../helpers/child';

const usage = 0x0080 | 0x0008; // STORAGE | COPY_DST

describe('memory tracker', () => {
  it('counts live buffers and bytes; destroyed bytes come back once the queue moves on', async () => {
    const gpu = await initDevice();
    const before = gpu.memory.stats();
    const a = gpu.device.createBuffer({ label: 'a', size: 4096, usage });
    const b = gpu.device.createBuffer({ label: 'b', size: 1024, usage });
    expect(gpu.memory.stats().liveBuffers - before.liveBuffers).toBe(2);
    expect(gpu.memory.stats().liveBytes - before.liveBytes).toBe(5120);
    a.destroy();
    a.destroy(); // twice is harmless and counted once
    expect(gpu.memory.stats().liveBytes - before.liveBytes).toBe(1024);
    expect(gpu.memory.stats().pendingBytes).toBe(4096);
    await gpu.reclaim();
    expect(gpu.memory.stats().pendingBytes).toBe(0);
    expect(gpu.memory.stats().peakBytes - before.liveBytes).toBeGreaterThanOrEqual(5120);
    b.destroy();
    gpu.destroy();
  });

  it('refuses a buffer past the budget by name and size; a retryable refusal fits after reclaim', async () => {
    const gpu = await initDevice();
    const tracker = new MemoryTracker(1 << 20);
    tracker.install(gpu.device);
    const first = gpu.device.createBuffer({ label: 'first', size: 600 << 10, usage });
    expect(() => gpu.device.createBuffer({ label: 'huge', size: 2 << 20, usage })).toThrow(
      /^out of memory: huge needs 2\.0 MiB, but 1 live buffers hold 0\.6 MiB of the 1\.0 MiB/,
    );
    first.destroy();
    let refusal: unknown;
    try {
      gpu.device.createBuffer({ label: 'again', size: 600 << 10, usage });
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(OutOfMemoryError);
    expect((refusal as OutOfMemoryError).retryable).toBe(true);
    expect((refusal as OutOfMemoryError).message).toMatch(/0\.6 MiB freed but not yet given back/);
    await gpu.reclaim();
    expect(() => gpu.device.createBuffer({ label: 'again', size: 600 << 10, usage })).not.toThrow();
    gpu.destroy();
  });

  const config: TrainConfig = {
    ...defaultTrainConfig(),
    model: cnnFromKnobs({ features: [4, 8], dense: 32 }),
    batchSize: 128,
  };

  /** A device whose buffers (from now on) may use `factor` times the training plan's bytes. */
  async function budgeted(factor: number): Promise<{ gpu: Gpu; tracker: MemoryTracker }> {
    const gpu = await initDevice();
    const probe = createTrainer(gpu, config);
    const planBytes = (await probe.plan('train', 128)).memory.total;
    probe.destroy();
    await gpu.reclaim();
    const tracker = new MemoryTracker(Math.round(planBytes * factor));
    tracker.install(gpu.device);
    return { gpu, tracker };
  }

  it('a plan refused while freed memory is pending compiles after reclaim', async () => {
    const { gpu, tracker } = await budgeted(1.5);
    const first = createTrainer(gpu, config);
    await first.plan('train', 128);
    first.destroy(); // its bytes are pending now, and the next plan does not fit beside them
    const reclaim = vi.spyOn(gpu, 'reclaim');
    const second = createTrainer(gpu, config);
    const plan = await second.plan('train', 128);
    expect(reclaim).toHaveBeenCalledTimes(1);
    expect(plan.memory.total).toBeGreaterThan(0);
    expect(tracker.stats().pendingBytes).toBe(0);
    second.destroy();
    gpu.destroy();
  });

  it('a plan that never fits fails with the batch, the buffer and sizes, and frees its part', async () => {
    const { gpu, tracker } = await budgeted(0.5);
    const trainer = createTrainer(gpu, config);
    const live = tracker.stats().liveBytes;
    await expect(trainer.plan('train', 128)).rejects.toThrow(
      /^train step at batch 128: out of memory: [\w.:]+ needs [\d.]+ MiB, but \d+ live buffers hold/,
    );
    expect(tracker.stats().liveBytes).toBe(live);
    trainer.destroy();
    gpu.destroy();
  });

  it('under ulimit -v, freed memory is refused until reclaimed, then usable (child process)', async () => {
    const limitKb = (await viteNodeBaseKb()) + 1_800_000;
    const r = await startScript('tests/fixtures/memoryProbe.ts', [], { ulimitKb: limitKb })
      .finished;
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(out.budget).toBeGreaterThan(0);
    expect(out.pendingAfterDestroy).toBe(out.size);
    expect(out.refusal).toMatch(
      /^out of memory: probe\.second needs .* freed but not yet given back/,
    );
    expect(out.retryable).toBe(true);
    expect(out.pendingAfterReclaim).toBe(0);
    expect(out.last).toBe(42);
  }, 60_000);
});
