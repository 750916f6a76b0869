/**
 * The checks every config field goes through: each returns the value when it passes and throws a
 * ShadergradError naming the key path ("model.layers[2].kernel: expected ...") when it does not.
 * Pure TypeScript.
 */
import { ShadergradError } from '../core';

export function fail(path: string, problem: string): never {
  throw new ShadergradError(`${path}: ${problem}`);
}

export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // Cyclic, BigInt or nested past the stack: from a library caller, never from JSON text.
    s = Array.isArray(v) ? 'a list' : typeof v;
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** A check for finite numbers passing `test`; `expected` describes them for the message. */
export function num(test: (n: number) => boolean, expected: string) {
  return (v: unknown, path: string): number =>
    typeof v === 'number' && Number.isFinite(v) && test(v)
      ? v
      : fail(path, `expected ${expected}, got ${show(v)}`);
}
export const whole = (min: number) =>
  num((n) => Number.isInteger(n) && n >= min, `a whole number >= ${min}`);
export const size = whole(1);
export const fraction = num((n) => n >= 0 && n < 1, 'a number in [0, 1)');

export function oneOf<T extends string>(options: readonly T[]) {
  return (v: unknown, path: string): T => {
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    return fail(path, `expected one of ${options.join(', ')}, got ${show(v)}`);
  };
}

export function flag(v: unknown, path: string): boolean {
  return typeof v === 'boolean' ? v : fail(path, `expected true or false, got ${show(v)}`);
}
