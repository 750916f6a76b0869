/**
 * The CLI as a user runs it (`npm start -- ...`): a tiny training run writes its checkpoint,
 * first-layer export and metrics; --eval reads the checkpoint back; bad input exits 1 with one
 * line naming the flag or file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/formats/safetensors';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['vite-node', 'src/cli/main.ts', '--', ...args], {
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const small = [
  '--features',
  '4,8',
  '--dense',
  '32',
  '--batch',
  '32',
  '--limit',
  '512',
  '--epochs',
  '1',
];

describe('npm start', () => {
  it('trains, saves a PyTorch-named checkpoint, the first layer and metrics; --eval reads it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shadergrad-cli-'));
    const r = await cli([...small, '--out', out]);
    expect(r.stderr + r.stdout).toMatch(/WebGPU adapter: /);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /epoch 1: train loss \d+\.\d+, train accuracy [\d.]+%, test accuracy [\d.]+%/,
    );
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics).toHaveLength(1);
    expect(Object.keys(metrics[0] ?? {})).toEqual(
      expect.arrayContaining(['epoch', 'trainLoss', 'testAccuracy', 'samplesPerS', 'seconds']),
    );
    const model = readSafetensors(
      new Uint8Array(readFileSync(join(out, 'model.safetensors'))),
      'model.safetensors',
    );
    expect(model.tensors['conv1.weight']?.shape).toEqual([4, 1, 5, 5]);
    expect(model.tensors['fc1.weight']?.shape).toEqual([32, 392]);
    expect(
      Object.keys(
        readSafetensors(new Uint8Array(readFileSync(join(out, 'conv1.safetensors'))), 'conv1')
          .tensors,
      ).sort(),
    ).toEqual(['conv1.bias', 'conv1.weight']);
    expect(readFileSync(join(out, 'conv1.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(existsSync(join(out, 'optimizer.safetensors'))).toBe(true);

    const quick = await cli(['--eval', join(out, 'model.safetensors'), '--test-limit', '500']);
    expect(quick.code, quick.stderr).toBe(0);
    expect(quick.stdout).toMatch(/test accuracy [\d.]+% \(500 images\)/);
    const evaluated = await cli(['--eval', join(out, 'model.safetensors')]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const acc = /test accuracy ([\d.]+)%/.exec(evaluated.stdout)?.[1];
    expect(Number(acc)).toBeCloseTo(Number(((metrics[0]?.testAccuracy ?? 0) * 100).toFixed(2)), 1);
  }, 240_000);

  it('--resume continues a run with results identical to an uninterrupted one', async () => {
    const tiny = ['--features', '4,8', '--dense', '32', '--batch', '32', '--limit', '256'];
    const resumed = mkdtempSync(join(tmpdir(), 'shadergrad-resume-'));
    const straight = mkdtempSync(join(tmpdir(), 'shadergrad-straight-'));
    expect((await cli([...tiny, '--epochs', '1', '--out', resumed])).code).toBe(0);
    const second = await cli(['--resume', resumed, '--epochs', '2', '--out', resumed]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/resuming after epoch 1/);
    expect((await cli([...tiny, '--epochs', '2', '--out', straight])).code).toBe(0);
    const lines = readFileSync(join(resumed, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { epoch: number }).epoch)).toEqual([1, 2]);
    const weights = (dir: string): Buffer => readFileSync(join(dir, 'model.safetensors'));
    expect(weights(resumed).equals(weights(straight))).toBe(true);
  }, 180_000);

  it("--precision f16 trains with its convolutions' inputs in f16, saves it in config.json, and --resume keeps it", async () => {
    const tiny = ['--features', '4,8', '--dense', '32', '--batch', '32', '--limit', '256'];
    const out = mkdtempSync(join(tmpdir(), 'shadergrad-f16-'));
    const first = await cli([...tiny, '--precision', 'f16', '--tune', 'off', '--out', out]);
    if (first.code !== 0) {
      // an adapter without shader-f16 (not lavapipe): refused in one line naming the feature
      expect(first.stderr.trim()).toMatch(/^shadergrad: .*needs the device feature shader-f16/);
      return;
    }
    const f16Notes = (stdout: string): string[] =>
      stdout
        .split('\n')
        .filter((l) => /^plan: conv\d: (im2col matrix|padded x) .* stored as f16/.test(l));
    expect(f16Notes(first.stdout)).toHaveLength(2);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as object;
    expect(config).toMatchObject({ precision: 'f16' });
    const resumed = await cli(['--resume', out, '--epochs', '2', '--tune', 'off']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(f16Notes(resumed.stdout)).toHaveLength(2);
  }, 180_000);

  it.each([
    [['--batch', 'abc'], /^shadergrad: --batch: expected a whole number >= 1, got 'abc'$/],
    [['--frobnicate'], /^shadergrad: .*--frobnicate/],
    [
      ['--eval', '/nonexistent/model.safetensors'],
      /^shadergrad: --eval \/nonexistent\/model.safetensors: cannot read the file: no such file or folder \(ENOENT\)$/,
    ],
  ])(
    '%j exits 1 with one line',
    async (args, message) => {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    },
    60_000,
  );

  it('a malformed checkpoint is refused with the flag and the file named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadergrad-bad-'));
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, Buffer.from([1, 2, 3]));
    const r = await cli(['--eval', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(`^shadergrad: --eval ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `),
    );
  }, 60_000);
});
