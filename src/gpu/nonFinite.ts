/**
 * Finding where a NaN or an infinity first appears. A training step is one submit of dozens of
 * dispatches, and a non-finite value spreads from the op that made it to everything after it: by
 * the time the loss is read back, every later tensor is NaN too. `findFirstNonFinite` runs a
 * plan's calls one submit each and reads back what each call writes (its read_write bindings, as
 * the pipeline cache reflects them), so the first bad tensor names the op that produced it. That
 * costs a read-back per written tensor per call: the trainer does it only in debug mode, only
 * after a divergence (see divergence.ts).
 */
import type { Gpu } from './device';
import { readFloat32 } from './buffers';
import { encodeCall, type PreparedCall } from './dispatch';
import type { GpuTensor } from './tensor';

/** The first non-finite value a call wrote. */
export interface NonFiniteWrite {
  /** The call's index in the plan and its label, e.g. 'matmul.matmulRegisterTile(...)'. */
  readonly callIndex: number;
  readonly call: string;
  /** The tensor, as the plan names it ("fc1 (node 5) value"), or its buffer's label. */
  readonly tensor: string;
  /** The first bad element's flat index and its value (NaN, Infinity or -Infinity). */
  readonly index: number;
  readonly value: number;
}

/** Calls to search, in order, with optional names for their tensors: a StepPlan is one. */
export interface CallList {
  readonly prepared: readonly PreparedCall[];
  /** Per call, a name for each bound tensor in binding order. */
  readonly tensorLabels?: readonly (readonly string[])[];
}

/** Index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    // v - v is 0 for every finite v and NaN for NaN and both infinities: one test, no call.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** "name[index] = value" for the first non-finite value among named arrays, or undefined. */
export function describeNonFinite(
  arrays: Iterable<readonly [string, Float32Array]>,
): string | undefined {
  for (const [name, values] of arrays) {
    const i = firstNonFinite(values);
    if (i >= 0) return `${name}[${i}] = ${values[i]}`;
  }
  return undefined;
}

/**
 * Runs the calls in order, one submit each, and after each reads back the f32 tensors it binds
 * read_write; resolves to the first non-finite element written, or undefined if none is. The
 * calls change what they always change (a training step updates the weights): run it on a state
 * you can restore.
 */
export async function findFirstNonFinite(
  gpu: Gpu,
  plan: CallList,
): Promise<NonFiniteWrite | undefined> {
  for (const [i, p] of plan.prepared.entries()) {
    submitOne(gpu, p);
    for (const [j, t] of writtenFloats(p)) {
      const values = await readFloat32(gpu, t);
      const index = firstNonFinite(values);
      if (index < 0) continue;
      return {
        callIndex: i,
        call: p.call.label,
        tensor: plan.tensorLabels?.[i]?.[j] ?? (t.buffer.label || `binding ${j}`),
        index,
        value: values[index] ?? NaN,
      };
    }
  }
  return undefined;
}

function submitOne(gpu: Gpu, p: PreparedCall): void {
  if (gpu.lostError) throw gpu.lostError;
  const encoder = gpu.device.createCommandEncoder({ label: p.call.label });
  const pass = encoder.beginComputePass({ label: p.call.label });
  encodeCall(pass, p);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
}

/** The call's f32 tensors bound read_write, with their binding positions. */
function writtenFloats(p: PreparedCall): [number, GpuTensor][] {
  const bindings = p.pipeline.bindings;
  return p.call.tensors.flatMap((t, j): [number, GpuTensor][] =>
    bindings[j]?.kind === 'read_write' && t.dtype === 'f32' ? [[j, t]] : [],
  );
}
