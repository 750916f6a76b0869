/** The tests' check of a refusal: a ShadergradError whose one-line message matches. */
import { expect } from 'vitest';
import { ShadergradError } from '../../src/base/errors';

export function expectError(fn: () => unknown, message: RegExp | string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ShadergradError);
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message).not.toContain('\n');
}
