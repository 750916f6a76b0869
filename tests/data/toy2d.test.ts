import { describe, expect, it } from 'vitest';
import { mseTargets, toy2d, toy2dKinds, type Toy2d, type Toy2dKind } from '../../src/data/toy2d';
import { ShadergradError } from '../../src/base/errors';

function classCounts(d: Toy2d): number[] {
  const counts = new Array<number>(d.classes).fill(0);
  for (const l of d.labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

function point(d: Toy2d, i: number): [number, number] {
  return [d.points[2 * i] ?? NaN, d.points[2 * i + 1] ?? NaN];
}

function expectError(f: () => unknown, pattern: RegExp): void {
  expect(f).toThrow(ShadergradError);
  expect(f).toThrow(pattern);
}

describe('toy2d', () => {
  it('xor is the four corners of the unit square, labelled x XOR y', () => {
    const d = toy2d({ kind: 'xor' });
    expect(d.count).toBe(4);
    expect(d.classes).toBe(2);
    expect([...d.points]).toEqual([0, 0, 0, 1, 1, 0, 1, 1]);
    expect([...d.labels]).toEqual([0, 1, 1, 0]);
    expect([...d.targets]).toEqual([0, 1, 1, 0]);
    expect(d.targetWidth).toBe(1);
  });

  it('xor copies are jittered around their corner by about `noise`', () => {
    const d = toy2d({ kind: 'xor', count: 400, noise: 0.1, seed: 7 });
    let sumSq = 0;
    for (let i = 0; i < d.count; i++) {
      const [x, y] = point(d, i);
      const cx = Math.round(x);
      const cy = Math.round(y);
      expect(d.labels[i]).toBe(cx ^ cy); // 0.5 is 5 sigma away: every point stays near its corner
      sumSq += (x - cx) ** 2 + (y - cy) ** 2;
    }
    const sigma = Math.sqrt(sumSq / (2 * d.count));
    expect(sigma).toBeGreaterThan(0.08);
    expect(sigma).toBeLessThan(0.12);
  });

  it.each(toy2dKinds.map((k) => [k]))('%s: shapes and finite values', (kind: Toy2dKind) => {
    const d = toy2d({ kind, count: 50, noise: 0.05, seed: 3 });
    expect(d.points).toHaveLength(100);
    expect(d.labels).toHaveLength(50);
    expect(d.targets).toHaveLength(50 * d.targetWidth);
    expect(d.points.every(Number.isFinite)).toBe(true);
    expect(d.labels.every((l) => l >= 0 && l < d.classes)).toBe(true);
  });

  it.each(toy2dKinds.map((k) => [k]))('%s: the same seed gives the same set', (kind: Toy2dKind) => {
    const a = toy2d({ kind, count: 60, noise: 0.1, seed: 11 });
    const b = toy2d({ kind, count: 60, noise: 0.1, seed: 11 });
    const c = toy2d({ kind, count: 60, noise: 0.1, seed: 12 });
    expect(b.points).toEqual(a.points);
    expect(b.labels).toEqual(a.labels);
    expect(c.points).not.toEqual(a.points);
  });

  it.each([
    ['circles', 200, 2],
    ['spirals', 201, 2],
    ['xor', 103, 2],
    ['gaussians', 103, 5],
  ] as const)('%s with %i points: classes balanced to within one', (kind, count, classes) => {
    const d = toy2d({ kind, count, classes });
    const counts = classCounts(d);
    expect(counts).toHaveLength(classes);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(count);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('circles: a disk of radius 0.45 inside a ring from 0.65 to 1', () => {
    const d = toy2d({ kind: 'circles', count: 300, seed: 5 });
    for (let i = 0; i < d.count; i++) {
      const r = Math.hypot(...point(d, i));
      if (d.labels[i] === 1) expect(r).toBeLessThanOrEqual(0.45 + 1e-6);
      else expect(r).toBeGreaterThanOrEqual(0.65 - 1e-6);
      expect(r).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  it('spirals: the second arm is the first turned by half a turn', () => {
    const d = toy2d({ kind: 'spirals', count: 100 });
    for (let j = 0; j < 50; j++) {
      const [x0, y0] = point(d, 2 * j);
      const [x1, y1] = point(d, 2 * j + 1);
      expect(x1).toBeCloseTo(-x0, 5);
      expect(y1).toBeCloseTo(-y0, 5);
    }
    // radius grows along the arm
    expect(Math.hypot(...point(d, 98))).toBeGreaterThan(Math.hypot(...point(d, 0)) + 0.5);
  });

  it('gaussians: each point lies nearest its own cluster centre', () => {
    const d = toy2d({ kind: 'gaussians', count: 300, classes: 3, seed: 2 });
    const means = Array.from({ length: 3 }, (_, k) => {
      const members = Array.from({ length: d.count }, (_, i) => i).filter((i) => d.labels[i] === k);
      const sum = members.reduce(
        (s, i) => [s[0] + point(d, i)[0], s[1] + point(d, i)[1]] as [number, number],
        [0, 0] as [number, number],
      );
      return [sum[0] / members.length, sum[1] / members.length];
    });
    let nearestOwn = 0;
    for (let i = 0; i < d.count; i++) {
      const [x, y] = point(d, i);
      const dist = means.map(([mx = 0, my = 0]) => Math.hypot(x - mx, y - my));
      if (dist.indexOf(Math.min(...dist)) === d.labels[i]) nearestOwn++;
    }
    expect(nearestOwn / d.count).toBeGreaterThan(0.97);
    expect(d.targetWidth).toBe(3);
  });

  it('mseTargets: one 0/1 column for two classes, one-hot rows for more', () => {
    expect([...mseTargets(Int32Array.from([1, 0, 1]), 2)]).toEqual([1, 0, 1]);
    expect([...mseTargets(Int32Array.from([2, 0]), 3)]).toEqual([0, 0, 1, 1, 0, 0]);
    expectError(() => mseTargets(Int32Array.from([0, 3]), 3), /label 1 is 3, expected 0..2/);
    expectError(() => mseTargets(Int32Array.from([0]), 1), /classes = 1/);
  });

  it('bad options get an error naming the option', () => {
    const bad = (o: object) => () => toy2d({ kind: 'xor', ...o });
    expectError(bad({ kind: 'moons' }), /kind 'moons' is not one of xor, circles/);
    expectError(bad({ count: 1 }), /count = 1, expected a whole number from 2/);
    expectError(bad({ count: 2.5 }), /count = 2.5/);
    expectError(bad({ kind: 'gaussians', classes: 4, count: 3 }), /from 4 to/);
    expectError(bad({ noise: -0.1 }), /noise = -0.1, expected a number >= 0/);
    expectError(bad({ noise: NaN }), /noise = NaN/);
    expectError(bad({ seed: 1.5 }), /seed = 1.5, expected an integer/);
    expectError(bad({ classes: 3 }), /xor has 2 classes, got classes = 3/);
    expectError(
      bad({ kind: 'gaussians', classes: 11 }),
      /classes = 11, expected a whole number from 2 to 10/,
    );
  });
});
