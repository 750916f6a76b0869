/**
 * A run folder is never lost or mixed up, as a user runs the CLI (child processes):
 * - a second run into a folder holding a run exits 1 with one line and changes nothing;
 *   --overwrite replaces it (metrics.jsonl starts again at epoch 1);
 * - an SGD run (no optimizer tensors) resumes from model + optimizer files;
 * - a resume with nothing left to train says it saved config.json only;
 * - a --data run resumed without --data trains on its folder again; another --data is refused;
 * - a batch larger than the training set is refused up front with one line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeIdx } from '../../src/data/idx';
import { startCli, type Finished } from '../helpers/child';

const tiny = ['--features', '4,8', '--dense', '32', '--batch', '32'];
const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `shadergrad-${what}-`));
/** stderr without Dawn's start-up warnings. */
const errors = (r: Finished): string[] =>
  r.stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Warning: '));
const epochs = (dir: string): number[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
const cli = (args: string[]): Promise<Finished> => startCli(args).finished;

describe('a folder holding a run', () => {
  it('is refused, replaced with --overwrite, and an SGD run resumes from it', async () => {
    const out = tempDir('rerun');
    const args = [...tiny, '--limit', '256', '--epochs', '1', '--out', out];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `saved in ${out}: metrics.jsonl, checkpoint.safetensors, model.safetensors, optimizer.safetensors, conv1.safetensors, conv1.png, config.json\n`,
    );
    const before = readFileSync(join(out, 'checkpoint.safetensors'));

    const again = await cli(args);
    expect(again.code).toBe(1);
    expect(errors(again)).toEqual([
      `shadergrad: --out ${out}: already holds a run (checkpoint.safetensors, metrics.jsonl, model.safetensors, optimizer.safetensors, config.json); continue it with --resume ${out}, replace it with --overwrite, or choose another --out`,
    ]);
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(before)).toBe(true);
    expect(epochs(out)).toEqual([1]);

    const sgd = await cli([...args, '--optimizer', 'sgd', '--lr', '0.05', '--overwrite']);
    expect(sgd.code, sgd.stderr).toBe(0);
    expect(epochs(out)).toEqual([1]);
    // Resume from model + optimizer files: SGD's optimizer file holds no tensors.
    rmSync(join(out, 'checkpoint.safetensors'));
    const resumed = await cli(['--resume', out, '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming after epoch 1\n/);
    expect(epochs(out)).toEqual([1, 2]);

    const nothingLeft = await cli(['--resume', out]);
    expect(nothingLeft.code, nothingLeft.stderr).toBe(0);
    expect(nothingLeft.stdout).toContain(`saved in ${out}: config.json\n`);
  }, 240_000);

  it('a batch larger than the training set is refused with one line', async () => {
    const r = await cli([...tiny, '--limit', '20', '--out', tempDir('bigbatch')]);
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([
      'shadergrad: --batch 32: larger than the 20 training samples (--limit 20); use --batch 20 or less',
    ]);
  }, 120_000);
});

/** An IDX folder of `n` training and 20 test images of 28x28, values from the index. */
function idxFolder(n: number): string {
  const dir = join(tempDir('idx'), 'digits');
  mkdirSync(dir);
  const images = (k: number): Uint8Array => Uint8Array.from({ length: k * 784 }, (_, i) => i % 251);
  const labels = (k: number): Uint8Array => Uint8Array.from({ length: k }, (_, i) => i % 10);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx([n, 28, 28], images(n)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([n], labels(n)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([20, 28, 28], images(20)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([20], labels(20)));
  return dir;
}

describe('a --data run', () => {
  it('resumes on its own folder without --data, and refuses another one', async () => {
    const data = idxFolder(64);
    const out = tempDir('datarun');
    const first = await cli([...tiny, '--data', data, '--epochs', '1', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const other = idxFolder(64);
    const refused = await cli(['--resume', out, '--data', other, '--epochs', '2']);
    expect(refused.code).toBe(1);
    expect(errors(refused)).toEqual([
      `shadergrad: --data ${other}: the run in ${out} trains on --data ${data}; resume it without this flag, or start a new run in another --out`,
    ]);
    const resumed = await cli(['--resume', out, '--epochs', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('data: digits train 64 training / 20 test images\n');
    expect(epochs(out)).toEqual([1, 2]);
  }, 240_000);
});
