/**
 * Flag values as the CLI's commands read them (args.ts for training, gpt.ts for the language
 * model): each check written once, each failure one line naming the flag, what it expects and
 * the user's token.
 */
import { ShadergradError } from '../base/errors';

/** A user's token as a message shows it: control characters escaped, at most 60 characters. */
export function clip(token: string): string {
  const s = JSON.stringify(token).slice(1, -1);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function bad(flag: string, expected: string, value: string): never {
  throw new ShadergradError(`${flag}: expected ${expected}, got '${clip(value)}'`);
}

export function wholeArg(
  flag: string,
  value: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (n >= min && n <= max) return n;
  return bad(
    flag,
    `a whole number >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''}`,
    value,
  );
}

function decimal(value: string): number {
  return /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Number(value) : NaN;
}

export function positiveArg(flag: string, value: string): number {
  const n = decimal(value);
  return n > 0 && Number.isFinite(n) ? n : bad(flag, 'a number > 0 (like 1e-3)', value);
}

export function nonNegativeArg(flag: string, value: string): number {
  const n = decimal(value);
  return n >= 0 && Number.isFinite(n) ? n : bad(flag, 'a number >= 0 (like 5e-4)', value);
}

export function choiceArg<T extends string>(flag: string, value: string, options: readonly T[]): T {
  const found = options.find((o) => o === value);
  return found ?? bad(flag, `one of ${options.join(', ')}`, value);
}
