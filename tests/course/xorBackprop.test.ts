/**
 * Lab 9 (backprop by hand for XOR): the reference gradients the grader uses (the CPU reference
 * executor in float64) agree with central differences of the loss; the reference solution
 * passes; the starter, a gradient off by a factor, a module without `gradients` and answers of
 * the wrong shape fail with messages that name what is wrong.
 */
import { describe, expect, it } from 'vitest';
import {
  gradeXorBackprop,
  referenceXorGradients,
  xorWeightSets,
  XOR_INPUTS,
  XOR_TARGETS,
  type XorWeights,
} from '../../src/course/xorBackprop';
// @ts-expect-error: plain JavaScript files of the course, without types
import * as solution from '../../course/09-xor-backprop/solution.mjs';
// @ts-expect-error: plain JavaScript files of the course, without types
import * as starter from '../../course/09-xor-backprop/starter.mjs';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function loss(w: XorWeights): number {
  let total = 0;
  XOR_INPUTS.forEach(([x0, x1], p) => {
    const h = w.w1.map((row, j) =>
      sigmoid((row[0] ?? 0) * x0 + (row[1] ?? 0) * x1 + (w.b1[j] ?? 0)),
    );
    const y = sigmoid(
      (w.w2[0]?.[0] ?? 0) * (h[0] ?? 0) + (w.w2[0]?.[1] ?? 0) * (h[1] ?? 0) + (w.b2[0] ?? 0),
    );
    total += (y - (XOR_TARGETS[p] ?? 0)) ** 2;
  });
  return total / XOR_INPUTS.length;
}

describe('lab 9, backprop by hand for XOR', () => {
  it('autodiff (the reference executor, float64) agrees with central differences', () => {
    for (const w of xorWeightSets()) {
      const ref = referenceXorGradients(w);
      expect(ref.loss).toBeCloseTo(loss(w), 12);
      const h = 1e-6;
      const bump = (path: (c: XorWeights) => { at: number[]; i: number }, delta: number) => {
        const c = structuredClone(w);
        const { at, i } = path(c);
        at[i] = (at[i] ?? 0) + delta;
        return loss(c);
      };
      const checks: [number, (c: XorWeights) => { at: number[]; i: number }][] = [
        [ref.w1[1]?.[0] ?? NaN, (c) => ({ at: c.w1[1] ?? [], i: 0 })],
        [ref.b1[0] ?? NaN, (c) => ({ at: c.b1, i: 0 })],
        [ref.w2[0]?.[1] ?? NaN, (c) => ({ at: c.w2[0] ?? [], i: 1 })],
        [ref.b2[0] ?? NaN, (c) => ({ at: c.b2, i: 0 })],
      ];
      for (const [analytic, path] of checks) {
        const numeric = (bump(path, h) - bump(path, -h)) / (2 * h);
        // Central differences in float64: truncation ~h², cancellation ~1e-16/h = 1e-10.
        expect(Math.abs(numeric - analytic)).toBeLessThan(1e-8);
      }
    }
  });

  it('passes the reference solution and fails the starter', () => {
    const passed = gradeXorBackprop(solution as Record<string, unknown>, 'solution.mjs');
    expect(passed.findings.filter((f) => !f.ok)).toEqual([]);
    expect(passed.findings.length).toBe(3);
    const failed = gradeXorBackprop(starter as Record<string, unknown>, 'starter.mjs');
    expect(failed.passed).toBe(false);
    expect(failed.findings[0]?.message).toMatch(/^weight set 1: w1\[0\]\[0\], .* differ/);
  });

  it('names the one gradient that is off (here b2, 4x too large)', () => {
    const gradients = (solution as { gradients: (...a: unknown[]) => Record<string, unknown> })
      .gradients;
    const doubled = {
      gradients: (...a: unknown[]) => {
        const g = gradients(...a);
        return { ...g, b2: (g.b2 as number[]).map((v) => v * 4) };
      },
    };
    const grade = gradeXorBackprop(doubled, 'scaled.mjs');
    expect(grade.passed).toBe(false);
    expect(grade.findings[0]?.message).toMatch(/^weight set 1: b2\[0\] differ\nb2\[0\]: yours /);
  });

  it('refuses a module without gradients, or an answer of the wrong shape', () => {
    const none = gradeXorBackprop({}, 'empty.mjs');
    expect(none.findings).toEqual([
      { check: 'bindings', ok: false, message: 'empty.mjs exports no function `gradients`' },
    ]);
    const flat = gradeXorBackprop(
      { gradients: () => ({ loss: 0, w1: [1, 2, 3], b1: [0, 0], w2: [[0, 0]], b2: [0] }) },
      'flat.mjs',
    );
    expect(flat.findings[0]?.message).toBe(
      'weight set 1: gradients() `w1` should be an array of 2 arrays of 2 numbers',
    );
    const thrown = gradeXorBackprop(
      {
        gradients: () => {
          throw new Error('oops');
        },
      },
      'throws.mjs',
    );
    expect(thrown.findings[0]?.message).toBe('weight set 1: gradients() threw oops');
  });
});
