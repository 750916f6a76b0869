/**
 * The examples' command line and output: `--name value` pairs for the options an example
 * declares with their defaults (numbers are whole numbers >= 1), and `--help`. Kebab-case flags
 * map to camelCase keys (`--test-limit` -> testLimit). An unknown flag or a bad value exits 1
 * with a one-line message, as the CLI does.
 */
import { ShadergradError } from 'shadergrad';

export type ExampleOptions = Record<string, number | string>;

/** Parses `argv` (default: this process's arguments) against `defaults`; `about` heads --help. */
export function parseOptions<T extends ExampleOptions>(
  about: string,
  defaults: T,
  argv: readonly string[] = process.argv.slice(2),
): T {
  const options: ExampleOptions = { ...defaults };
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (flag === '--help' || flag === '-h') {
      console.log(usage(about, defaults));
      process.exit(0);
    }
    const key = flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const fallback = defaults[key];
    if (!flag.startsWith('--') || fallback === undefined)
      throw new ShadergradError(`unknown option '${flag}'\n${usage(about, defaults)}`);
    const value = args[++i];
    if (value === undefined) throw new ShadergradError(`${flag} needs a value`);
    options[key] = typeof fallback === 'number' ? wholeNumber(flag, value) : value;
  }
  return options as T;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ShadergradError(`${flag} ${value}: expected a whole number >= 1`);
  return n;
}

function usage(about: string, defaults: ExampleOptions): string {
  const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const lines = Object.entries(defaults).map(([k, v]) => `  --${kebab(k)} (default ${v})`);
  return [about, 'options:', ...lines].join('\n');
}

/** Runs an example's main, turning a ShadergradError into one line and exit code 1. */
export function runExample(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof ShadergradError ? `error: ${e.message}` : e);
      process.exit(1);
    },
  );
}

/** 0.9876 -> "98.76%". */
export function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
