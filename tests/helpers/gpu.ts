/**
 * The test device: one per test file (vitest forks a process per file). No adapter is a failure,
 * never a skip: every machine that runs the tests has at least lavapipe or SwiftShader
 * (scripts/install-software-gpu.sh). SHADERGRAD_ADAPTER=swiftshader runs the suite on SwiftShader.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { platform } from '#gpu-platform';
import { initDevice, readAdapterEnv, type Gpu } from '../../src/gpu/device';
import { runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { readFloat32, uploadTensor } from '../../src/gpu/buffers';
import type { GpuTensor } from '../../src/gpu/tensor';

let shared: Promise<Gpu> | undefined;

/** The file's shared debug-mode device, opened on first call. */
export function testGpu(): Promise<Gpu> {
  shared ??= initDevice({ debug: true });
  return shared;
}

/**
 * A test file's device set-up, written once: beforeAll opens the shared device (a missing adapter
 * rejects there, so every test of the file fails rather than skips), then runs `setup` for state
 * that needs the device; afterAll destroys it. Returns an accessor, not the device, because the
 * device exists only once beforeAll has run.
 */
export function useTestGpu(setup?: (gpu: Gpu) => Promise<void> | void): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await testGpu();
    await setup?.(gpu);
  });
  afterAll(() => gpu?.destroy());
  return () => {
    // Reading it at collection time (a describe body, a case table) would see no device yet.
    if (!gpu)
      throw new Error('useTestGpu: the device opens in beforeAll; use it in a hook or test');
    return gpu;
  };
}

/**
 * A debug-mode device of the same adapter with no optional feature (no subgroups, shader-f16 or
 * timestamps) and default limits: what a browser without them gives, for the code paths that
 * must do without. The caller destroys it.
 */
export async function plainTestGpu(): Promise<Gpu> {
  const adapter = await platform.requestAdapter(readAdapterEnv());
  const device = await adapter.requestDevice({ label: 'shadergrad plain test device' });
  return initDevice({ device, debug: true });
}

/**
 * Runs `check` on a device with `shader-f16`; on one without (SwiftShader), asserts instead that
 * the same work is refused by the feature's name: each adapter checks what it can.
 */
export async function onF16Device(gpu: Gpu, check: () => Promise<unknown>): Promise<void> {
  if (gpu.hasShaderF16) await check();
  else await expect(check()).rejects.toThrow(/shader-f16/);
}

/** Uploads a Float32Array (or converts a Float64Array) as an f32 tensor. */
export function upload(
  gpu: Gpu,
  data: Float32Array | Float64Array | number[],
  shape: readonly number[],
): GpuTensor {
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return uploadTensor(gpu, f32, shape, { label: 'test-input' });
}

/** Runs the calls and reads one f32 output back. */
export async function runAndRead(
  gpu: Gpu,
  calls: KernelCall | readonly KernelCall[],
  out: GpuTensor,
): Promise<Float32Array> {
  await runCalls(gpu, Array.isArray(calls) ? calls : [calls as KernelCall]);
  return readFloat32(gpu, out);
}
