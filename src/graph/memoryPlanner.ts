/**
 * Memory planner: given each intermediate tensor's lifetime over a step's schedule (the first and
 * last call that binds it), assigns tensors to shared buffers so that tensors whose lifetimes
 * overlap never share one. Greedy by size, largest first: each tensor goes to the first buffer
 * whose members are all dead while it lives; since members are at least as large, the buffer
 * never grows. Buffers are whole GPUBuffers, so every binding offset is 0 (always aligned).
 */

export interface LifetimeRequest {
  readonly id: number;
  readonly byteLength: number;
  /** Index of the first and last call in the schedule that binds the tensor. */
  readonly first: number;
  readonly last: number;
}

export interface MemoryPlan {
  /** Byte size of each shared buffer. */
  readonly slotBytes: number[];
  /** Tensor id -> index into slotBytes. */
  readonly slotOf: Map<number, number>;
  /** Sum of the shared buffers. */
  readonly plannedBytes: number;
  /** What one buffer per tensor would take. */
  readonly naiveBytes: number;
}

export function planMemory(requests: readonly LifetimeRequest[]): MemoryPlan {
  const order = [...requests].sort((a, b) => b.byteLength - a.byteLength || a.first - b.first);
  const slots: { bytes: number; members: LifetimeRequest[] }[] = [];
  const slotOf = new Map<number, number>();
  for (const r of order) {
    let index = slots.findIndex((s) =>
      s.members.every((m) => m.last < r.first || r.last < m.first),
    );
    if (index < 0) {
      index = slots.length;
      slots.push({ bytes: r.byteLength, members: [] });
    }
    slots[index]?.members.push(r);
    slotOf.set(r.id, index);
  }
  const slotBytes = slots.map((s) => s.bytes);
  return {
    slotBytes,
    slotOf,
    plannedBytes: slotBytes.reduce((a, b) => a + b, 0),
    naiveBytes: requests.reduce((a, r) => a + r.byteLength, 0),
  };
}
