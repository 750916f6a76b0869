/**
 * The course from the command line, as a student runs it: `exercises` lists the track,
 * `exercise relu` copies the starter and the question (and refuses to overwrite them), and
 * `check` grades a file: the starter fails, the reference solution passes (exit 0), a kernel
 * with its barrier removed fails on the race detector (exit 1), and a bad name or a missing file
 * is one line, no stack trace.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyKnobs,
  defaultTrainConfig,
  type CnnKnobs,
  type TrainConfig,
} from '../../src/models/config';
import { startCli } from '../helpers/child';

const run = async (args: string[]) => startCli(args, { timeoutMs: 90_000 }).finished;
const dir = mkdtempSync(join(tmpdir(), 'shadergrad-course-'));

describe('shadergrad exercises, exercise and check', () => {
  it('lists the exercises in order', async () => {
    const r = await run(['exercises']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ 1\. relu .*\n 2\. sum /);
    expect(r.stdout).toMatch(/ 9\. xor-backprop +Backprop by hand for XOR/);
  });

  it('copies the starter and the question, then refuses to overwrite them', async () => {
    const first = await run(['exercise', 'relu', '--dir', dir]);
    expect(first.code).toBe(0);
    expect(readFileSync(join(dir, 'relu.wgsl'), 'utf8')).toContain('TODO');
    expect(readFileSync(join(dir, 'relu.md'), 'utf8')).toContain('# Exercise 1');
    const again = await run(['exercise', 'relu', '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/^shadergrad: .*relu\.wgsl exists; not overwriting/);
  });

  it('fails the starter and passes the reference solution', async () => {
    const starter = await run(['check', 'relu', join(dir, 'relu.wgsl'), '--no-speed']);
    expect(starter.code).toBe(1);
    expect(starter.stdout).toMatch(/✗ bindings:\n +relu does not use x \(@binding\(0\)\) yet/);
    expect(starter.stdout).toMatch(/^FAIL: /m);
    const solution = join(dir, 'solution.wgsl');
    copyFileSync('course/01-relu/solution.wgsl', solution);
    const passed = await run(['check', 'relu', solution]);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('✓ matches the CPU twin (6 cases)');
    expect(passed.stdout).toMatch(/speed: [\d.]+ ms \([\d.]+ GB\/s\); the library's kernel/);
    expect(passed.stdout).toMatch(/^PASS: /m);
  });

  it('fails a reduction whose barrier was removed, naming the race', async () => {
    const code = readFileSync('course/02-sum/solution.wgsl', 'utf8');
    const file = join(dir, 'sum.wgsl');
    writeFileSync(file, code.replace('workgroupBarrier(); // every', '// every'));
    const r = await run(['check', 'sum', file, '--no-speed']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ count=21: \d+ race\(s\)/);
  });

  it('refuses a FIFO, non-UTF-8 bytes and a module that does not parse, in one line each', async () => {
    const fifo = join(dir, 'pipe.wgsl');
    execFileSync('mkfifo', [fifo]);
    const piped = await run(['check', 'relu', fifo]);
    expect(piped.code).toBe(1);
    expect(piped.stderr.trim()).toMatch(/^shadergrad: .*pipe\.wgsl.*FIFO/);
    const binary = join(dir, 'binary.wgsl');
    writeFileSync(binary, new Uint8Array([0xff, 0xfe, 0x00, 0x41]));
    const bad = await run(['check', 'relu', binary]);
    expect(bad.stderr.trim()).toBe(`shadergrad: ${binary}: not UTF-8 text (is it the right file?)`);
    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, 'export function gradients( {');
    const parsed = await run(['check', 'xor-backprop', broken]);
    expect(parsed.code).toBe(1);
    expect(parsed.stderr.trim()).toMatch(
      /^shadergrad: .*broken\.mjs: cannot load it as a JavaScript module \((Syntax)?Error: /,
    );
    expect(parsed.stderr).not.toMatch(/\n\s+at /);
  });

  it('checks the seed experiment from a folder of runs, and names what is missing', async () => {
    const runs = join(dir, 'runs');
    const base = defaultTrainConfig();
    const knobs: Record<string, CnnKnobs> = {
      baseline: {},
      features: { features: [16, 32] },
      padding: { padding: 'valid' },
      kernel3: { kernel: 3 },
      stride2: { stride: 2 },
      tanh: { activation: 'tanh' },
      avgpool: { pool: 'avg' },
    };
    const write = (name: string, config: TrainConfig) => {
      mkdirSync(join(runs, name), { recursive: true });
      writeFileSync(join(runs, name, 'config.json'), JSON.stringify(config, null, 2));
      const line = {
        epoch: 1,
        trainLoss: 0.1,
        testAccuracy: 0.975,
        samplesPerS: 231,
        seconds: 260,
      };
      writeFileSync(join(runs, name, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
      writeFileSync(join(runs, name, 'conv1.safetensors'), '');
    };
    for (const [name, k] of Object.entries(knobs))
      write(name, { ...base, model: applyKnobs(base.model, k) });
    const missingFashion = await run(['check', 'seed-experiment', runs]);
    expect(missingFashion.code).toBe(1);
    expect(missingFashion.stdout).toContain(
      '✗ a Fashion-MNIST run: no such run; train one with --dataset fashion',
    );
    write('fashion', { ...base, dataset: 'fashion' });
    const passed = await run(['check', 'seed-experiment', runs]);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toMatch(
      /^ {2}tanh +mnist +activation "tanh" +97\.50% {2}231 samples\/s$/m,
    );
    mkdirSync(join(runs, 'broken'));
    writeFileSync(join(runs, 'broken', 'config.json'), '{"epochs": "many"');
    const broken = await run(['check', 'seed-experiment', runs]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/✗ broken: .*config\.json/);
  });

  it('grades a whole folder for a teacher, as text and as JSON', async () => {
    const hand = join(dir, 'student');
    mkdirSync(hand);
    copyFileSync('course/01-relu/solution.wgsl', join(hand, 'relu.wgsl'));
    copyFileSync('course/09-xor-backprop/solution.mjs', join(hand, 'xor-backprop.mjs'));
    const sum = readFileSync('course/02-sum/solution.wgsl', 'utf8');
    writeFileSync(join(hand, 'sum.wgsl'), sum.replace('workgroupBarrier(); // every', '// every'));
    const text = await run(['check', 'all', hand, '--no-speed']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ {2}relu +PASS$/m);
    expect(text.stdout).toMatch(/^ {2}sum +FAIL \(\d+ checks?\)$/m);
    expect(text.stdout).toMatch(/^ {2}xor-backprop +PASS$/m);
    expect(text.stdout).toMatch(/^passed 2 of 3 handed in; not handed in: matmul\.wgsl, /m);
    const json = await run(['check', 'all', hand, '--no-speed', '--json']);
    const report = JSON.parse(json.stdout) as {
      graded: { exercise: string; passed: boolean; findings: { check: string; ok: boolean }[] }[];
      missing: string[];
    };
    expect(report.graded.map((g) => [g.exercise, g.passed])).toEqual([
      ['relu', true],
      ['sum', false],
      ['xor-backprop', true],
    ]);
    expect(report.graded[1]?.findings.filter((f) => !f.ok).map((f) => f.check)).toContain('races');
    expect(report.missing).toContain('runs');
    writeFileSync(join(hand, 'sum.wgsl'), sum);
    expect((await run(['check', 'all', hand, '--no-speed'])).code).toBe(0);
  });

  it('stops a kernel that never ends after --timeout, says so, and exits', async () => {
    // A loop with a store in it (so no compiler may drop it) that runs for minutes.
    const code = readFileSync('course/01-relu/starter.wgsl', 'utf8').replace(
      '// TODO: write y[i] (and only for the i that exist).',
      'if (i < params.count) { var n = 1u; loop { y[i] = f32(n) + x[i]; n = n * 1664525u + 1013904223u; if (n == 7u) { break; } } }',
    );
    const file = join(dir, 'endless.wgsl');
    writeFileSync(file, code);
    const started = Date.now();
    const r = await run(['check', 'relu', file, '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /✗ count=\d+: the kernel did not finish in 2 s \(a loop that never ends\?\); grading stopped/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    const bad = await run(['check', 'relu', file, '--timeout', '0']);
    expect(bad.stderr.trim()).toBe(
      "shadergrad: --timeout: expected a number > 0 (like 1e-3), got '0'",
    );
    const misspelt = await run(['check', 'relu', file, '--no-sped']);
    expect(misspelt.stderr.trim()).toBe("shadergrad: check: unknown flag '--no-sped' (see --help)");
  });

  it('names a bad exercise or a missing file in one line', async () => {
    const unknown = await run(['check', 'relux']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(
      'shadergrad: check: no exercise named "relux"; the exercises are relu, sum, matmul, matmul-tiled, im2col, maxpool-backward, softmax-cross-entropy, adam, xor-backprop, seed-experiment',
    );
    const missing = await run(['check', 'adam', join(dir, 'nothing.wgsl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nothing\.wgsl not found \(start the exercise with/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
