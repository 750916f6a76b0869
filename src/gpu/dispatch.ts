/**
 * Kernel calls: what a kernel wrapper returns and the engine runs. A wrapper packs its Params,
 * picks the entry point and dispatch size, and lists the tensors it binds; the engine turns that
 * into a pipeline, a uniform buffer and a bind group (`prepareCall`, once), records it into a
 * compute pass (`encodeCall`, every step), or runs a list at once (`runCalls`, for tests/ad hoc).
 */
import type { Gpu } from './device';
import { KernelError } from '../base/errors';
import type { CachedPipeline, ShaderSource } from './pipelines';
import { checkOwner, type GpuTensor } from './tensor';

export type Workgroups = readonly [number, number, number];

export interface KernelCall {
  /** '<family>.<entryPoint>' plus shapes, shown in errors and profiles. */
  readonly label: string;
  readonly shader: ShaderSource;
  readonly entryPoint: string;
  readonly constants?: Readonly<Record<string, number>>;
  /** Tensors in `@binding` order (inputs, then outputs); Params, if any, binds after them. */
  readonly tensors: readonly GpuTensor[];
  readonly params?: ArrayBuffer;
  readonly workgroups: Workgroups;
}

/** A call with its pipeline and bind group made; encoding it allocates nothing. */
export interface PreparedCall {
  readonly call: KernelCall;
  readonly pipeline: CachedPipeline;
  readonly bindGroup: GPUBindGroup;
  /** Uniform buffer owned by this prepared call (destroy with `releaseCall`). */
  readonly uniform: GPUBuffer | undefined;
}

export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Workgroup grid for `count` workgroups: spills into y past 65535 (shaders linearize x + y*nx). */
export function grid1d(count: number, maxPerDim = MAX_WORKGROUPS_PER_DIMENSION): Workgroups {
  const n = Math.max(1, Math.ceil(count));
  if (n <= maxPerDim) return [n, 1, 1];
  const y = Math.ceil(n / maxPerDim);
  if (y > maxPerDim) throw new KernelError('dispatch', `${n} workgroups exceed ${maxPerDim}^2`);
  return [Math.ceil(n / y), y, 1];
}

/** Workgroups to cover `total` items, `perWorkgroup` items each. */
export function dispatchFor(total: number, perWorkgroup: number): Workgroups {
  return grid1d(Math.ceil(total / perWorkgroup));
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

export async function prepareCall(gpu: Gpu, call: KernelCall): Promise<PreparedCall> {
  const pipeline = await gpu.pipelines.get(call);
  return bindCall(gpu, call, pipeline);
}

function bindCall(gpu: Gpu, call: KernelCall, pipeline: CachedPipeline): PreparedCall {
  const expected = pipeline.bindings.length;
  const given = call.tensors.length + (call.params ? 1 : 0);
  if (given !== expected) {
    const names = pipeline.bindings.map((b) => b.name).join(', ');
    throw new KernelError(
      call.label,
      `binds ${given} buffers, the shader declares ${expected} (${names})`,
    );
  }
  for (const t of call.tensors) checkOwner(t.buffer, gpu.device, call.label);
  const entries: GPUBindGroupEntry[] = call.tensors.map((t, i) => ({
    binding: pipeline.bindings[i]?.binding ?? i,
    resource: { buffer: t.buffer, offset: t.byteOffset, size: Math.max(4, t.byteLength) },
  }));
  let uniform: GPUBuffer | undefined;
  if (call.params) {
    uniform = gpu.device.createBuffer({
      label: `${call.label}.params`,
      size: call.params.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    gpu.device.queue.writeBuffer(uniform, 0, call.params);
    entries.push({
      binding: pipeline.bindings[expected - 1]?.binding ?? expected - 1,
      resource: { buffer: uniform },
    });
  }
  const bindGroup = gpu.device.createBindGroup({
    label: call.label,
    layout: pipeline.layout,
    entries,
  });
  return { call, pipeline, bindGroup, uniform };
}

/** Records one prepared call into an open compute pass. */
export function encodeCall(pass: GPUComputePassEncoder, p: PreparedCall): void {
  pass.setPipeline(p.pipeline.pipeline);
  pass.setBindGroup(0, p.bindGroup);
  const [x, y, z] = p.call.workgroups;
  pass.dispatchWorkgroups(x, y, z);
}

export function releaseCall(p: PreparedCall): void {
  p.uniform?.destroy();
}

/**
 * Prepares, encodes and submits the calls in order, in one compute pass. In debug mode the submit
 * is wrapped in validation and out-of-memory error scopes and a failure names the first label.
 */
export async function runCalls(gpu: Gpu, calls: readonly KernelCall[]): Promise<void> {
  if (gpu.lostError) throw gpu.lostError;
  const prepared = await Promise.all(calls.map((c) => prepareCall(gpu, c)));
  const device = gpu.device;
  if (gpu.debug) {
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
  }
  const encoder = device.createCommandEncoder({ label: calls[0]?.label ?? 'empty' });
  const pass = encoder.beginComputePass({ label: calls[0]?.label ?? 'empty' });
  for (const p of prepared) encodeCall(pass, p);
  pass.end();
  device.queue.submit([encoder.finish()]);
  if (gpu.debug) {
    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const err = oom ?? validation;
    if (err) throw new KernelError(calls.map((c) => c.label).join(' + '), err.message);
  }
  void device.queue.onSubmittedWorkDone().then(() => prepared.forEach(releaseCall));
}
