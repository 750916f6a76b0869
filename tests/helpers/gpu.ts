/**
 * The test device: one per test file (vitest forks a process per file). No adapter is a failure,
 * never a skip: every machine that runs the tests has at least lavapipe or SwiftShader
 * (scripts/install-software-gpu.sh). SHADERGRAD_ADAPTER=swiftshader runs the suite on SwiftShader.
 */
import { initDevice, type Gpu } from '../../src/gpu/device';
import { runCalls, type KernelCall } from '../../src/gpu/dispatch';
import { readFloat32, uploadTensor } from '../../src/gpu/buffers';
import type { GpuTensor } from '../../src/gpu/tensor';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  shared ??= initDevice({ debug: true });
  return shared;
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
