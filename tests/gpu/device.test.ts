import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { initDevice, DeviceLostError } from '../../src/gpu/device';
import { BufferPool, createTensor, readFloat32 } from '../../src/gpu/buffers';
import { ShadergradError } from '../../src/base/errors';
import { runCalls } from '../../src/gpu/dispatch';
import { activationForward } from '../../src/kernels/activation';
import { testGpu, upload, useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

describe('initDevice', () => {
  it('finds an adapter, names it and gets the limits training needs', () => {
    expect(['hardware', 'lavapipe', 'swiftshader', 'other-software']).toContain(gpu().adapter.kind);
    expect(gpu().adapter.isSoftware).toBe(gpu().adapter.kind !== 'hardware');
    // The reference CNN's conv2 im2col at batch 64 is 40 MB; every adapter we target gives >= 128 MiB.
    expect(gpu().limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(gpu().limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
  });

  it('prefers lavapipe over SwiftShader on a machine without a GPU', () => {
    if (gpu().adapter.kind === 'hardware') return; // a real GPU outranks both
    expect(gpu().adapter.kind).toBe(
      process.env.SHADERGRAD_ADAPTER === 'swiftshader' ? 'swiftshader' : 'lavapipe',
    );
  });

  it('logs one adapter line on request', async () => {
    const lines: string[] = [];
    const own = await initDevice({ log: (l) => lines.push(l) });
    own.destroy();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^WebGPU adapter: .+ \[(hardware|software \(\w[\w-]*\))\]; max storage binding \d+ MiB/,
    );
    // Node says when it throttles Dawn's poll loop (src/gpu/dawnPolling.ts), and only then.
    expect(lines[0]?.endsWith("; Dawn's poll loop throttled")).toBe(
      own.dawnPolling === 'throttled',
    );
  });

  it('wraps a host-provided device without taking ownership', async () => {
    const host = await testGpu();
    const wrapped = await initDevice({ device: host.device });
    // Its adapter comes from device.adapterInfo, so a host's lavapipe gets lavapipe's defaults.
    expect(wrapped.adapter).toEqual(host.adapter);
    wrapped.destroy(); // must not destroy the host's device
    const t = upload(host, [1, -2, 3], [3]);
    const out = createTensor(host, [3]);
    await runCalls(host, [activationForward({ x: t, y: out, activation: 'relu' })]);
    expect([...(await readFloat32(host, out))]).toEqual([1, 0, 3]);
  });

  it('rejects an unknown SHADERGRAD_ADAPTER with a clear message', async () => {
    process.env.SHADERGRAD_ADAPTER = 'voodoo';
    try {
      await expect(initDevice()).rejects.toThrow(
        /SHADERGRAD_ADAPTER=voodoo: expected auto, lavapipe or swiftshader/,
      );
    } finally {
      delete process.env.SHADERGRAD_ADAPTER;
    }
  });
});

describe('device loss', () => {
  it('turns destroy() into a typed error, and later reads reject instead of hanging', async () => {
    const own = await initDevice();
    const t = createTensor(own, [4]);
    own.destroy();
    const err = await own.lost;
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.reason).toBe('destroyed');
    expect(own.lostError).toBe(err);
    await expect(readFloat32(own, t)).rejects.toBeInstanceOf(DeviceLostError);
  });
});

describe('buffers', () => {
  it('refuses a tensor past the device limit before allocating, with the numbers', () => {
    const tooMany = Math.ceil(gpu().limits.maxStorageBufferBindingSize / 4) + 1;
    expect(() => createTensor(gpu(), [tooMany], { label: 'huge' })).toThrow(ShadergradError);
    expect(() => createTensor(gpu(), [tooMany], { label: 'huge' })).toThrow(
      /huge: \d+ bytes exceeds this device's largest storage buffer/,
    );
  });

  it('rejects bad shapes', () => {
    expect(() => createTensor(gpu(), [2, -1])).toThrow(/bad shape \[2, -1\]/);
    expect(() => upload(gpu(), [1, 2, 3], [2, 2])).toThrow(/needs 4 elements, got 3/);
  });

  it('pools buffers by size and usage, counts bytes, and catches a double free', () => {
    const pool = new BufferPool(gpu());
    const a = pool.acquire(1000);
    expect(pool.liveBytes).toBe(1000);
    pool.release(a);
    expect(pool.pooledBytes).toBe(1000);
    const b = pool.acquire(1000);
    expect(b).toBe(a);
    expect(pool.created).toBe(1);
    const c = pool.acquire(2000);
    expect(c).not.toBe(a);
    pool.release(b);
    expect(() => pool.release(b)).toThrow(/double free/);
    pool.release(c);
    pool.trim();
    expect(pool.pooledBytes).toBe(0);
  });
});

describe('process exit', () => {
  it('a script that used the GPU ends on its own, without destroy()', async () => {
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      'npx',
      ['vite-node', 'tests/fixtures/exitProbe.ts'],
      { timeout: 30_000 },
    );
    expect(stdout).toContain('read 4 values');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);
});
