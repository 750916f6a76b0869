/**
 * A seeded fuzz of what the CLI reads before it trains: argv lists (parseArgs, then
 * resolveTrainConfig with a mutated --config file) and config JSON (parseTrainConfig on values,
 * parseTrainConfigText on text). Mutations of valid inputs: wrong types, huge and negative
 * numbers, unknown keys, deep nesting, long strings, cut text. Every case either succeeds or
 * throws a ShadergradError with a one-line message, never another error, within a time guard.
 * In process and without a GPU, so 400 cases take a second or two.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { mulberry32 } from '../../src/base/random';
import { parseArgs, usage, type CliCommand } from '../../src/cli/args';
import { resolveTrainConfig } from '../../src/cli/config';
import { defaultTrainConfig } from '../../src/models/config';
import { parseTrainConfig, parseTrainConfigText } from '../../src/models/configJson';

const CASES = 200;
/** Per case: parsing a config takes microseconds; a second means a pathological path (a hang). */
const GUARD_MS = 1000;

type Random = () => number;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

/** A value of nesting depth `n` built without recursion (a recursive builder would hit the stack). */
function deep(n: number, r: Random): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = r() < 0.5 ? [v] : { k: v };
  return v;
}

const WORDS = [
  '1',
  '0',
  '-1',
  '2.5',
  '1e400',
  '1e-3',
  'NaN',
  '',
  ' ',
  'same',
  'valid',
  'relu',
  'adam',
  'max',
  '4,8',
  '4,',
  ',',
  '=',
  '--',
  'x'.repeat(5000),
  '\u00e9\u{1f600}',
  '99999999999999999999',
];

/** A value of any JSON type, often a troublesome one. */
function wild(r: Random): unknown {
  return pick(r, [
    () => pick(r, [0, -1, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 32, 3]),
    () => pick(r, WORDS),
    () => null,
    () => r() < 0.5,
    () => [],
    () => ({}),
    () => deep(1 + Math.floor(r() * 3000), r),
    () => ({ [pick(r, ['type', 'units', 'kernel', '__proto__', 'constructor', 'x'])]: wild(r) }),
    () => [{ type: pick(r, ['conv2d', 'dense', 'flatten', 'maxPool', 'dropout', 'nope']) }],
  ])();
}

/** The default config (as JSON) with one to three keys somewhere replaced, added or removed. */
function mutatedConfig(r: Random): unknown {
  const json = JSON.parse(JSON.stringify(defaultTrainConfig())) as Record<string, unknown>;
  for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
    let at: Record<string, unknown> = json;
    while (r() < 0.6) {
      const child = at[pick(r, Object.keys(at))];
      if (typeof child !== 'object' || child === null) break;
      at = child as Record<string, unknown>;
    }
    const key =
      r() < 0.8
        ? pick(r, Object.keys(at))
        : pick(r, ['extra', 'Epochs', '', 'k'.repeat(3000), 'a\nb']);
    if (r() < 0.1) delete at[key];
    else at[key] = wild(r);
  }
  return json;
}

/** JSON text: a mutated config, cut short, or nested past any sane depth. */
function configText(r: Random): string {
  const text = JSON.stringify(mutatedConfig(r)) ?? 'null';
  return pick(r, [
    () => text,
    () => text.slice(0, Math.floor(r() * text.length)),
    () => `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
    () => `{"epochs": "${'y'.repeat(2_000_000)}"}`,
  ])();
}

/** Every flag the help lists (the parser's own table), and one it does not know. */
const FLAGS = [...new Set(usage().match(/--[a-z-]+/g) ?? []), '--bogus'];

function argv(r: Random, configFile: string): string[] {
  const out: string[] = r() < 0.2 ? [pick(r, ['train', 'eval', 'x'])] : [];
  for (let n = Math.floor(r() * 6); n > 0; n--) {
    const flag = pick(r, FLAGS);
    const value = flag === '--config' ? configFile : pick(r, WORDS);
    if (r() < 0.3) out.push(`${flag}=${value}`);
    else out.push(flag, ...(r() < 0.9 ? [value] : []));
  }
  return out;
}

/** Runs one case: success, or a one-line ShadergradError; anything else fails the test. */
async function expectClean(what: string, run: () => unknown): Promise<void> {
  const start = performance.now();
  try {
    await run();
  } catch (e) {
    expect(e, `${what}: ${String(e)}`).toBeInstanceOf(ShadergradError);
    const message = (e as Error).message;
    expect(message, what).not.toContain('\n');
    expect(message.length, what).toBeLessThan(1000);
  }
  expect(performance.now() - start, what).toBeLessThan(GUARD_MS);
}

describe('fuzz: CLI flags and config JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadergrad-fuzz-'));

  it(`${CASES} config values and texts parse or fail in one line`, async () => {
    const r = mulberry32(20261203);
    for (let i = 0; i < CASES; i++) {
      const value = mutatedConfig(r);
      await expectClean(`config value ${i}`, () => parseTrainConfig(value, 'fuzz.json'));
      const text = configText(r);
      await expectClean(`config text ${i}`, () => parseTrainConfigText(text, 'fuzz.json'));
    }
  });

  it(`${CASES} argv lists parse and resolve or fail in one line`, async () => {
    const r = mulberry32(7);
    let resolved = 0;
    for (let i = 0; i < CASES; i++) {
      const file = join(dir, `c${i}.json`);
      writeFileSync(file, configText(r));
      const args = argv(r, file);
      let cmd: CliCommand | undefined;
      await expectClean(`argv ${i} ${JSON.stringify(args).slice(0, 200)}`, () => {
        cmd = parseArgs(args);
      });
      if (cmd?.kind !== 'train') continue;
      const train = cmd;
      await expectClean(`resolve ${i}`, () => resolveTrainConfig(train));
      resolved++;
    }
    // The generator must reach resolveTrainConfig, not only fail in parseArgs.
    expect(resolved).toBeGreaterThan(CASES / 10);
  }, 60_000);
});
