/**
 * Numeric comparison: |actual - expected| <= atol + rtol * |expected| elementwise, NaN never
 * close (so unwritten outputs, pre-filled with NaN, fail). On failure the message lists the
 * first mismatches with their indices, the worst error and the tolerance used.
 */
import { expect } from 'vitest';

type Numbers = ArrayLike<number>;

export interface Tolerance {
  atol: number;
  rtol: number;
}

export function allCloseReport(
  actual: Numbers,
  expected: Numbers,
  tol: Tolerance,
): string | undefined {
  if (actual.length !== expected.length)
    return `length ${actual.length} != expected ${expected.length}`;
  const bad: string[] = [];
  let badCount = 0;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    const err = Math.abs(a - e);
    const ok = err <= tol.atol + tol.rtol * Math.abs(e) || (Object.is(a, e) && !Number.isNaN(a));
    if (!ok) {
      badCount++;
      if (!(err <= worst)) worst = err;
      if (bad.length < 8)
        bad.push(`[${i}] got ${a}, expected ${e} (|diff| ${err.toExponential(2)})`);
    }
  }
  if (badCount === 0) return undefined;
  return `${badCount}/${actual.length} elements differ beyond atol ${tol.atol} + rtol ${tol.rtol}·|ref| (worst ${worst}):\n  ${bad.join('\n  ')}`;
}

export function expectAllClose(
  actual: Numbers,
  expected: Numbers,
  tol: Tolerance,
  what = 'values',
): void {
  const report = allCloseReport(actual, expected, tol);
  expect(report, `${what}: ${report ?? ''}`).toBeUndefined();
}

/**
 * Tolerance for float32 results of dot products of length K: each of the K rounding steps adds at
 * most ~eps·sum|a_i b_i| of error, so atol scales with K and with the magnitude of the terms
 * (`sumAbsMax` = the largest sum|a_i b_i| over outputs). A factor of 4 covers reordering.
 */
export function dotTolerance(K: number, sumAbsMax: number): Tolerance {
  const eps = 2 ** -23;
  return { atol: 4 * eps * Math.max(1, K) * Math.max(sumAbsMax, 1e-30) + 1e-30, rtol: 1e-5 };
}
