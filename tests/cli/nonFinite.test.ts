/**
 * A run that diverges never overwrites the last good checkpoint: after a good first epoch, the
 * run resumed at `--lr 1e12` exits 1 with one line naming the step (and how to find the op),
 * and checkpoint.safetensors is the one it started from, or with `--checkpoint-every 1` one of a
 * step before the loss went non-finite; either way it loads and holds only finite values.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/formats/safetensors';
import { CHECKPOINT_FILE } from '../../src/cli/checkpoint';
import { resolveTrainConfig } from '../../src/cli/config';
import { firstNonFinite } from '../../src/gpu/nonFinite';
import { startCli, type Finished } from '../helpers/child';

/** 256 samples / batch 32 = 8 steps per epoch. */
const tiny = ['--features', '4,8', '--dense', '32', '--batch', '32', '--limit', '256'];

const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `shadergrad-${what}-`));
const checkpoint = (dir: string): Buffer => readFileSync(join(dir, CHECKPOINT_FILE));
/** stderr without Dawn's start-up warnings. */
const errors = (r: Finished): string[] =>
  r.stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Warning: '));

/** Resumes a copy of the good run at a learning rate that overflows within two steps. */
async function divergedRun(extra: string[]) {
  const dir = tempDir('diverged');
  cpSync(good, dir, { recursive: true });
  const r = await startCli([
    '--resume',
    dir,
    '--out',
    dir,
    '--epochs',
    '2',
    '--lr',
    '1e12',
    ...extra,
  ]).finished;
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(errors(r), r.stderr).toHaveLength(1);
  const line = errors(r)[0] ?? '';
  expect(line).toMatch(
    /^shadergrad: training loss at step \d+ is (NaN|-?Infinity): training diverged \(lower the learning rate\?\) \(set SHADERGRAD_DEBUG=1 to find the first op that produced it\); the weights are back to the last good snapshot \(epoch 2, after step \d+\)$/,
  );
  return { dir, failedStep: Number(/at step (\d+)/.exec(line)?.[1]) };
}

/** Loads as `--resume` would, and every tensor in it is finite. */
async function expectGoodCheckpoint(dir: string) {
  const { resume } = await resolveTrainConfig({ resume: dir, flags: { knobs: {} } });
  const file = readSafetensors(new Uint8Array(checkpoint(dir)), CHECKPOINT_FILE);
  for (const [name, t] of Object.entries(file.tensors))
    if (t.dtype === 'F32') expect(firstNonFinite(t.data), `${name} finite`).toBe(-1);
  if (!resume) throw new Error(`--resume ${dir} gave no resume point`);
  return resume.position;
}

let good: string;
let goodBytes: Buffer;
beforeAll(async () => {
  good = tempDir('good');
  const r = await startCli([...tiny, '--epochs', '1', '--out', good]).finished;
  expect(r.code, r.stderr).toBe(0);
  goodBytes = checkpoint(good);
}, 120_000);

describe('a diverging run', () => {
  it('exits 1 with one line and leaves the last good checkpoint as it was', async () => {
    const { dir } = await divergedRun([]);
    expect(checkpoint(dir).equals(goodBytes)).toBe(true);
    expect(await expectGoodCheckpoint(dir)).toEqual({ epoch: 2, batch: 0 });
  }, 120_000);

  it('with a checkpoint every step, writes none from a step after the loss went non-finite', async () => {
    // Snapshots of every step are taken until the read-back at the epoch's end sees the NaN.
    const { dir, failedStep } = await divergedRun(['--checkpoint-every', '1']);
    const position = await expectGoodCheckpoint(dir);
    expect(position.epoch).toBe(2);
    expect(position.batch).toBeLessThan(failedStep);
  }, 120_000);
});
