/**
 * The tests' numeric assertions over the one comparison of src/base/compare.ts
 * (|actual - expected| <= atol + rtol·|expected|, NaN never close). On failure the message lists
 * the first mismatches with their indices, the worst error and the tolerance used.
 */
import { expect } from 'vitest';
import { compareClose, describeCloseness, type Tolerance } from '../../src/base/compare';

export { dotTolerance, type Tolerance } from '../../src/base/compare';

type Numbers = ArrayLike<number>;

/** The failure message, or undefined when every element is close. */
export function allCloseReport(
  actual: Numbers,
  expected: Numbers,
  tol: Tolerance,
): string | undefined {
  return describeCloseness(compareClose(actual, expected, tol), tol);
}

/** Fails the test, naming `what`, unless every element of `actual` is close to `expected`. */
export function expectAllClose(
  actual: Numbers,
  expected: Numbers,
  tol: Tolerance,
  what = 'values',
): void {
  const report = allCloseReport(actual, expected, tol);
  expect(report, `${what}: ${report ?? ''}`).toBeUndefined();
}
