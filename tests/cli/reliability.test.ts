/**
 * The CLI keeps long runs alive, as a user runs it (child processes through vite-node):
 * - SIGKILLed mid-run, it leaves a readable checkpoint folder, and `--resume` finishes the run
 *   with the weights of a run never stopped, with the kernels its checkpoint names even when the
 *   tune cache changed in between;
 * - Ctrl-C (SIGINT) mid-epoch saves the exact position and prints the --resume command, which
 *   finishes the run with the same weights;
 * - a device lost mid-run (a real destroy(), through the drill variable) is recovered on a new
 *   device with one line, again to the same weights;
 * - under `ulimit -v`, a model too big for the memory exits 1 with one line naming the tensor and
 *   the sizes (never a segfault or a hang), while a small one trains.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, type SafetensorsFile } from '../../src/formats/safetensors';
import { startCli, viteNodeBaseKb, type Finished } from '../helpers/child';
import { forceChoices } from '../helpers/tuneStore';

/** 2048 samples / batch 32 = 64 steps per epoch, two epochs: a few seconds of training. */
const tiny = ['--features', '4,8', '--dense', '32', '--batch', '32'];
const run = [...tiny, '--limit', '2048', '--epochs', '2'];

const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `shadergrad-${what}-`));

// Bit-identical weights need the same kernels in every run: each run tunes in `cached` mode, so
// the first fills a cache the others read. It is this file's own: other test files train the
// same tiny network at the same time, and one that tuned it alongside the first run would store
// its own choices over them (its conv2's dX paths are within 6% of each other, so either wins).
process.env.SHADERGRAD_CACHE_DIR = tempDir('tune-cache');
const CACHE_FILE = join(process.env.SHADERGRAD_CACHE_DIR, 'tune.json');
const readFile = (dir: string, name: string): SafetensorsFile =>
  readSafetensors(new Uint8Array(readFileSync(join(dir, name))), name);
/** stderr without Dawn's start-up warnings. */
const errors = (r: Finished): string[] =>
  r.stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('Warning: '));

function expectSameWeights(dir: string, reference: SafetensorsFile): void {
  const model = readFile(dir, 'model.safetensors');
  expect(Object.keys(model.tensors).sort()).toEqual(Object.keys(reference.tensors).sort());
  for (const [name, t] of Object.entries(model.tensors)) {
    const want = reference.tensors[name];
    expect(t.dtype === 'F32' && want?.dtype === 'F32', name).toBe(true);
    const bits = (a: typeof t): Buffer => Buffer.from(a.data.buffer, a.data.byteOffset);
    if (want) expect(bits(t).equals(bits(want)), `${name} bit-identical`).toBe(true);
  }
}

let straight: SafetensorsFile;
beforeAll(async () => {
  const out = tempDir('straight');
  const r = await startCli([...run, '--out', out]).finished;
  expect(r.code, r.stderr).toBe(0);
  straight = readFile(out, 'model.safetensors');
}, 120_000);

describe('a killed run', () => {
  it('resumes from its checkpoint to the weights of an uninterrupted run', async () => {
    const out = tempDir('killed');
    const child = startCli([...run, '--checkpoint-every', '8', '--out', out]);
    let killedAt = -1;
    while (child.process.exitCode === null && killedAt < 0) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        const meta = readFile(out, 'checkpoint.safetensors').metadata['shadergrad.position'];
        const step = (JSON.parse(meta ?? '{}') as { step?: number }).step ?? 0;
        if (step >= 24) {
          child.kill(); // whatever it is doing now, mid-step or mid-write
          killedAt = step;
        }
      } catch {
        // no checkpoint yet
      }
    }
    const killed = await child.finished;
    expect(killed.signal, `the run ended before it was killed: ${killed.stdout}`).toBe('SIGKILL');
    // Every file in the folder is whole: atomic writes leave at most a stray temp file.
    for (const name of readdirSync(out).filter((n) => n.endsWith('.safetensors')))
      expect(() => readFile(out, name)).not.toThrow();

    // The cache changes meanwhile (another run stored naive kernels): the resumed run replays the
    // choices its checkpoint keeps, so its weights are still those of the uninterrupted run.
    expect(readFile(out, 'checkpoint.safetensors').metadata['shadergrad.tuning']).toBeDefined();
    const cache = { text: readFileSync(CACHE_FILE, 'utf8') };
    const kept = cache.text;
    writeFileSync(CACHE_FILE, forceChoices(cache, 'naive 8x8'));
    const resumed = await startCli(['--resume', out, '--out', out]).finished;
    writeFileSync(CACHE_FILE, kept);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming (in epoch \d after batch \d+|after epoch 1)\n/);
    expect(resumed.stdout).toMatch(/^tuning \(cached\): 0 products timed, \d+ from the cache/m);
    expect(resumed.stdout).not.toMatch(/naive/);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    expect(epochs).toEqual([1, 2]);
    expect(killedAt).toBeGreaterThanOrEqual(24);
    expectSameWeights(out, straight);
  }, 120_000);
});

describe('Ctrl-C mid-run', () => {
  it('saves the position, prints the --resume command, and that command finishes the run', async () => {
    const out = tempDir('sigint');
    const child = startCli([...run, '--out', out]);
    // The first progress line comes after step 20 of 64: the run is mid-epoch.
    while (child.process.exitCode === null && !child.output().stdout.includes('epoch 1/2 '))
      await new Promise((r) => setTimeout(r, 20));
    child.process.kill('SIGINT');
    const stopped = await child.finished;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(errors(stopped)).toEqual([]);
    const line = stopped.stdout.split('\n').find((l) => l.startsWith('interrupted '));
    expect(line).toMatch(
      new RegExp(
        `^interrupted (in epoch 1 after batch \\d+|after epoch 1): saved ${out}/checkpoint\\.safetensors; continue with: npm start -- --resume ${out}$`,
      ),
    );
    const place = JSON.parse(
      readFile(out, 'checkpoint.safetensors').metadata['shadergrad.position'] ?? '{}',
    ) as { position: { epoch: number; batch: number } };
    const said = /in epoch (\d+) after batch (\d+)/.exec(line ?? '');
    if (said) expect(place.position).toEqual({ epoch: Number(said[1]), batch: Number(said[2]) });

    const resumed = await startCli(['--resume', out]).finished;
    expect(resumed.code, resumed.stderr).toBe(0);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    expect(epochs).toEqual([1, 2]);
    expectSameWeights(out, straight);
  }, 120_000);
});

describe('a device lost mid-run', () => {
  it('is recovered on a new device with one line, to the same weights', async () => {
    const out = tempDir('drill');
    const r = await startCli([...run, '--snapshot-every', '16', '--out', out], {
      env: { SHADERGRAD_DRILL_DEVICE_LOSS: '40' },
    }).finished;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.includes('device lost'));
    // Lost at the read-back of step 40; the snapshot before it is step 32.
    expect(lines).toEqual([
      'WebGPU device lost (destroyed): this Gpu was destroyed (gpu.destroy()); resumed on a new device from the snapshot at epoch 1, batch 32 (recovery 1 of 3)',
    ]);
    expectSameWeights(out, straight);
  }, 120_000);
});

describe('out of memory under ulimit -v', () => {
  // vite-node alone reserves gigabytes of address space; the limit leaves ~1.8 GB above that.
  let limitKb: number;
  beforeAll(async () => {
    limitKb = (await viteNodeBaseKb()) + 1_800_000;
  }, 60_000);

  it('a model too big exits 1 with one line naming the tensor and sizes', async () => {
    // ~800 MiB of buffers: 26M parameters with Adam, activations at batch 128, the snapshot.
    const args = ['--dense', '8192', '--batch', '128', '--limit', '256', '--out', tempDir('oom')];
    const r = await startCli(args, { ulimitKb: limitKb }).finished;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatch(
      /^shadergrad: .*out of memory: [\w.]+ needs [\d.]+ MiB, but \d+ live buffers hold [\d.]+ MiB( \+ [\d.]+ MiB freed but not yet given back.*)? of the [\d.]+ MiB this process may use for GPU buffers \(its address-space limit, ulimit -v, minus a reserve\); use a smaller batch or model/,
    );
  }, 120_000);

  it('a small model trains under the same limit', async () => {
    const out = tempDir('fits');
    const r = await startCli([...tiny, '--limit', '256', '--epochs', '1', '--out', out], {
      ulimitKb: limitKb,
    }).finished;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/budget for buffers under ulimit -v: [\d.]+ MiB/);
    expect(r.stdout).toMatch(/epoch 1: train loss/);
  }, 120_000);
});
