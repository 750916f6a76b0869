import { describe, expect, it } from 'vitest';
import { planMemory } from '../../src/graph/memoryPlanner';

describe('planMemory', () => {
  it('shares a buffer between tensors whose lifetimes do not overlap', () => {
    const plan = planMemory([
      { id: 0, byteLength: 100, first: 0, last: 1 },
      { id: 1, byteLength: 80, first: 2, last: 3 },
      { id: 2, byteLength: 60, first: 1, last: 2 },
    ]);
    expect(plan.slotOf.get(0)).toBe(plan.slotOf.get(1));
    expect(plan.slotOf.get(2)).not.toBe(plan.slotOf.get(0));
    expect(plan.plannedBytes).toBe(160);
    expect(plan.naiveBytes).toBe(240);
  });

  it('never gives overlapping lifetimes one buffer, and every buffer fits its members', () => {
    let seed = 1;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const reqs = Array.from({ length: 200 }, (_, id) => {
      const first = rand(50);
      return { id, byteLength: 4 * (1 + rand(1000)), first, last: first + rand(10) };
    });
    const plan = planMemory(reqs);
    for (const a of reqs) {
      const slot = plan.slotOf.get(a.id) ?? -1;
      expect(plan.slotBytes[slot]).toBeGreaterThanOrEqual(a.byteLength);
      for (const b of reqs) {
        if (a.id < b.id && plan.slotOf.get(b.id) === slot)
          expect(a.last < b.first || b.last < a.first).toBe(true);
      }
    }
    expect(plan.plannedBytes).toBeLessThan(plan.naiveBytes);
  });
});
