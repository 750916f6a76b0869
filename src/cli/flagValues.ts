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

/** Flag values by name (without the dashes); a switch given reads 'on'. */
export type FlagValues = Record<string, string>;

/** How parseFlags reads a flag: `value: ''` makes it a switch that takes no value. */
export interface ParsedFlag {
  readonly value: string;
}

/**
 * `--flag value` or `--flag=value` pairs, and switches (a spec whose value is '') given alone;
 * an unknown or repeated flag names itself.
 */
export function parseFlags(
  command: string,
  argv: readonly string[],
  known: Readonly<Record<string, Partial<ParsedFlag>>>,
): FlagValues {
  const values: FlagValues = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const eq = token.indexOf('=');
    const name = (eq > 0 ? token.slice(0, eq) : token).replace(/^--/, '');
    if (!token.startsWith('--') || !Object.hasOwn(known, name))
      throw new ShadergradError(`${command}: unknown flag '${clip(token)}' (see --help)`);
    if (Object.hasOwn(values, name)) throw new ShadergradError(`--${name}: given twice`);
    if (known[name]?.value === '') {
      if (eq > 0) throw new ShadergradError(`--${name}: a switch, it takes no value`);
      values[name] = 'on';
      continue;
    }
    const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ShadergradError(`--${name}: needs a value`);
    values[name] = value;
  }
  return values;
}
