/** The one comparison: the per-element rule, NaN, the first mismatches, the maxima, the message. */
import { describe, expect, it } from 'vitest';
import {
  compareClose,
  describeCloseness,
  dotAtol,
  dotTolerance,
  isClose,
} from '../../src/base/compare';

describe('isClose', () => {
  it('allows atol + rtol·|want|, never NaN; an infinity only matches itself', () => {
    const tol = { atol: 0.1, rtol: 0.01 };
    expect(isClose(10.2, 10, tol)).toBe(true); // 0.2 <= 0.1 + 0.1
    expect(isClose(10.21, 10, tol)).toBe(false);
    expect(isClose(NaN, NaN, tol)).toBe(false);
    expect(isClose(NaN, 0, tol)).toBe(false);
    expect(isClose(0, NaN, tol)).toBe(false);
    expect(isClose(Infinity, Infinity, tol)).toBe(true);
    expect(isClose(-Infinity, Infinity, tol)).toBe(false);
    expect(isClose(0, Infinity, tol)).toBe(false); // rtol·∞ must not let anything pass
    expect(isClose(Infinity, 1, tol)).toBe(false);
  });
});

describe('compareClose', () => {
  it('counts mismatches, keeps the first ones in order and reports the largest errors', () => {
    const got = [1, 2.5, NaN, 4, 7];
    const want = [1, 2, 3, 4, 5];
    const c = compareClose(got, want, { atol: 0.1, rtol: 0 }, 2);
    expect(c.count).toBe(5);
    expect(c.mismatches).toBe(3);
    expect(c.first.map((m) => m.index)).toEqual([1, 2]);
    expect(c.first[0]).toEqual({ index: 1, got: 2.5, want: 2, error: 0.5 });
    expect(c.maxError).toBe(2); // NaN errors are counted as mismatches, not as maxima
    expect(c.maxRelError).toBeCloseTo(0.4, 12);
  });

  it('reports differing lengths without comparing', () => {
    const c = compareClose([1, 2], [1, 2, 3], { atol: 1, rtol: 0 });
    expect(c.lengths).toEqual({ got: 2, want: 3 });
    expect(c.mismatches).toBe(3);
    expect(describeCloseness(c, { atol: 1, rtol: 0 })).toBe('length 2 != expected 3');
  });
});

describe('describeCloseness', () => {
  it('is undefined when all is close, else lists the count, tolerance, worst and indices', () => {
    const tol = { atol: 1e-3, rtol: 1e-5 };
    expect(describeCloseness(compareClose([1, 2], [1, 2], tol), tol)).toBeUndefined();
    const message = describeCloseness(compareClose([1, 2, 0], [1, 2.5, 0], tol), tol) ?? '';
    expect(message).toContain('1/3 elements differ beyond atol 0.001 + rtol 0.00001·|ref|');
    expect(message).toContain('(worst 0.5)');
    expect(message).toContain('[1] got 2, expected 2.5 (|diff| 5.00e-1)');
  });
});

describe('dot-product tolerances', () => {
  it('scale with the number of terms', () => {
    expect(dotAtol(64)).toBeCloseTo(2 ** -21 * 64 * 8, 15);
    const t = dotTolerance(100, 50);
    expect(t.rtol).toBe(1e-5);
    expect(t.atol).toBeCloseTo(4 * 2 ** -23 * 100 * 50, 12);
  });
});
