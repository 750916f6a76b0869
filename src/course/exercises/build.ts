/**
 * Small builders the exercises share: a case's buffers by role, the library's run on uploaded
 * copies of a case's inputs, and the 1-D dispatch every elementwise exercise states.
 */
import type { Tolerance } from '../../base/compare';
import type { Gpu } from '../../gpu/device';
import { uploadTensor } from '../../gpu/buffers';
import { MAX_WORKGROUPS_PER_DIMENSION, type KernelCall, type Workgroups } from '../../gpu/dispatch';
import type { GpuTensor } from '../../gpu/tensor';
import type { CaseBuffer, ExerciseCase, LibraryRun } from '../exercise';

type HostData = Float32Array | Int32Array | Uint32Array;

function dtypeOf(data: HostData): CaseBuffer['dtype'] {
  if (data instanceof Float32Array) return 'f32';
  return data instanceof Int32Array ? 'i32' : 'u32';
}

export function input(name: string, data: HostData): CaseBuffer {
  return { name, role: 'read', dtype: dtypeOf(data), data };
}

/** An output the kernel writes whole; it starts as NaN sentinels. */
export function output(name: string, want: HostData, tolerance?: Tolerance): CaseBuffer {
  const data = new (want.constructor as new (n: number) => HostData)(want.length);
  return { name, role: 'write', dtype: dtypeOf(want), data, want, tolerance };
}

/** A buffer the kernel reads and updates in place. */
export function inout(
  name: string,
  data: HostData,
  want: HostData,
  tolerance?: Tolerance,
): CaseBuffer {
  return { name, role: 'read_write', dtype: dtypeOf(data), data, want, tolerance };
}

/** Workgroups along x for `count` items, `perWorkgroup` each (the exercises stay under 65535). */
export function along(count: number, perWorkgroup: number): Workgroups {
  const groups = Math.max(1, Math.ceil(count / perWorkgroup));
  if (groups > MAX_WORKGROUPS_PER_DIMENSION)
    throw new Error(`an exercise case needs ${groups} workgroups along x, past the limit`);
  return [groups, 1, 1];
}

/**
 * Uploads the case's buffers (outputs as zeros), shaped as `shapes` says where a library wrapper
 * checks shapes (flat otherwise), and hands them to `calls` for the library's kernel.
 */
export function libraryRun(
  gpu: Gpu,
  c: ExerciseCase,
  calls: (tensors: readonly GpuTensor[]) => KernelCall[],
  shapes: readonly (readonly number[])[] = [],
): LibraryRun {
  const tensors = c.buffers.map((b, i) =>
    uploadTensor(gpu, b.data, shapes[i] ?? [b.data.length], { dtype: b.dtype }),
  );
  return { calls: calls(tensors), release: () => tensors.forEach((t) => t.buffer.destroy()) };
}

/** The tensor at `i`, which the exercise's own case layout guarantees. */
export function at(tensors: readonly GpuTensor[], i: number): GpuTensor {
  const t = tensors[i];
  if (!t) throw new Error(`library run: no tensor ${i}`);
  return t;
}
