/**
 * The CLI's config precedence, from argv to the run's config without training:
 * defaults <- --config file <- the resumed run's config <- flags. With --resume the --config file
 * is not read at all; flags go over whichever base wins and the model is validated after the merge.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args';
import { resolveTrainConfig, type ResolvedConfig } from '../../src/cli/config';
import { writeSafetensors, type SafetensorsTensor } from '../../src/formats/safetensors';
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';

const dir = (): string => mkdtempSync(join(tmpdir(), 'shadergrad-config-'));

/** parseArgs then resolveTrainConfig, as `shadergrad [argv]` does before it trains. */
async function resolve(argv: string[]): Promise<ResolvedConfig> {
  const cmd = parseArgs(argv);
  if (cmd.kind !== 'train') throw new Error(`expected a train command, got ${cmd.kind}`);
  return resolveTrainConfig(cmd);
}

/** A --config file with these keys (the rest default). */
function configFile(json: unknown): string {
  const path = join(dir(), 'config.json');
  writeFileSync(path, JSON.stringify(json));
  return path;
}

/** A run folder as saved at the end of `epoch` (model + optimizer files) with `config`. */
function savedRun(config: TrainConfig, epoch: number, extra: Record<string, string> = {}): string {
  const run = dir();
  const meta = { 'shadergrad.config': JSON.stringify(config), epoch: String(epoch), ...extra };
  const one: Record<string, SafetensorsTensor> = {
    x: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
  };
  writeFileSync(join(run, 'model.safetensors'), writeSafetensors(one, meta));
  writeFileSync(join(run, 'optimizer.safetensors'), writeSafetensors(one, meta));
  return run;
}

const d = defaultTrainConfig();
/** A saved run differing from the defaults everywhere the tests look. */
const saved: TrainConfig = {
  ...d,
  model: cnnFromKnobs({ features: [2, 3], dense: 4 }),
  optimizer: { ...d.optimizer, kind: 'sgd', lr: 0.5 },
  epochs: 3,
  batchSize: 8,
  seed: 7,
};

describe('resolveTrainConfig', () => {
  it('gives the defaults without flags, --config or --resume', async () => {
    expect(await resolve([])).toEqual({ config: d });
  });

  it('puts flags over the defaults, the same config parseArgs previews', async () => {
    const argv = ['--epochs', '2', '--lr', '0.01', '--dense', '64'];
    const cmd = parseArgs(argv);
    const { config } = await resolve(argv);
    expect(cmd.kind === 'train' && cmd.config).toEqual(config);
    expect([config.epochs, config.optimizer.lr, config.model.layers[5]]).toEqual([
      2,
      0.01,
      { type: 'dense', units: 64, activation: 'relu' },
    ]);
  });

  it('puts the config file over the defaults and flags over the file', async () => {
    const file = configFile({ epochs: 5, batchSize: 128, optimizer: { kind: 'sgd', lr: 0.1 } });
    const { config } = await resolve(['--config', file, '--batch', '32']);
    expect(config).toEqual({
      ...d,
      epochs: 5, // file
      batchSize: 32, // flag over file
      optimizer: { ...d.optimizer, kind: 'sgd', lr: 0.1 }, // file
    });
  });

  it('puts the resumed run over the defaults and flags over the run', async () => {
    const run = savedRun(saved, 2);
    expect(await resolve(['--resume', run])).toMatchObject({
      config: saved,
      resume: { position: { epoch: 3, batch: 0 } },
    });
    const { config } = await resolve(['--resume', run, '--epochs', '4', '--lr', '0.25']);
    expect(config).toEqual({ ...saved, epochs: 4, optimizer: { ...saved.optimizer, lr: 0.25 } });
  });

  it('with --resume, takes the resumed run over the config file, which it does not read', async () => {
    const run = savedRun(saved, 1);
    const file = configFile({ epochs: 9, seed: 99 });
    const { config } = await resolve(['--config', file, '--resume', run, '--seed', '5']);
    expect(config).toEqual({ ...saved, seed: 5 });
    const missing = join(dir(), 'none.json');
    expect((await resolve(['--config', missing, '--resume', run])).config).toEqual(saved);
  });

  it('names the flag or file at fault', async () => {
    const missing = join(dir(), 'none.json');
    await expect(resolve(['--config', missing])).rejects.toThrow(
      `--config ${missing}: cannot read the file: no such file or folder (ENOENT)`,
    );
    const bad = join(dir(), 'bad.json');
    writeFileSync(bad, '{ epochs: 2');
    await expect(resolve(['--config', bad])).rejects.toThrow(`${bad}: not valid JSON`);
    const conv = { type: 'conv2d', features: 4, kernel: 3 };
    const three = configFile({
      model: { layers: [conv, conv, conv, { type: 'dense', units: 10 }] },
    });
    await expect(resolve(['--config', three, '--features', '8,16'])).rejects.toThrow(
      '--features: 2 values for 3 conv2d layers',
    );
    await expect(resolve(['--resume', dir()])).rejects.toThrow(
      /^--resume .*model\.safetensors: cannot read the file: no such file or folder \(ENOENT\)$/,
    );
  });

  it('refuses configs too deep, too long or not JSON in one line, in a file or a checkpoint', async () => {
    const deep = join(dir(), 'deep.json');
    writeFileSync(deep, `{"epochs": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    await expect(resolve(['--config', deep])).rejects.toThrow(
      new RegExp(
        `^--config ${deep}: nested 100001 levels deep, more than a config holds \\(at most 32\\)$`,
      ),
    );
    const long = join(dir(), 'long.json');
    writeFileSync(long, `{"epochs": 1, "x": "${'y'.repeat(2 ** 20)}"}`);
    await expect(resolve(['--config', long])).rejects.toThrow(
      /^--config .*long\.json: holds 1048598 bytes, over the 1048576-byte limit for this file$/,
    );
    const run = savedRun(defaultTrainConfig(), 1);
    const one = { x: { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) } };
    writeFileSync(
      join(run, 'model.safetensors'),
      writeSafetensors(one, { 'shadergrad.config': '{epochs' }),
    );
    await expect(resolve(['--resume', run])).rejects.toThrow(
      /^.*model\.safetensors: metadata shadergrad\.config: not valid JSON \([^\n]*\)$/,
    );
  });

  it('pins a resumed run to its data: another --data, --dataset or --limit is refused', async () => {
    const run = savedRun({ ...saved, limit: 512 }, 1);
    const refused = (flag: string, source: string): string =>
      `${flag}: the run in ${run} trains on ${source}; resume it without this flag, or start a new run in another --out`;
    expect((await resolve(['--resume', run])).dataDir).toBeUndefined();
    expect((await resolve(['--resume', run, '--limit', '512'])).config.limit).toBe(512);
    await expect(resolve(['--resume', run, '--limit', '100'])).rejects.toThrow(
      refused('--limit 100', '--limit 512'),
    );
    await expect(resolve(['--resume', run, '--dataset', 'fashion'])).rejects.toThrow(
      refused('--dataset fashion', '--dataset mnist'),
    );
    await expect(resolve(['--resume', run, '--data', 'idx'])).rejects.toThrow(
      refused('--data idx', '--dataset mnist'),
    );
    const all = savedRun(saved, 1);
    await expect(resolve(['--resume', all, '--limit', '5'])).rejects.toThrow(
      /^--limit 5: .* trains on all its samples;/,
    );
  });

  it('resumes a --data run on its folder, with or without --data', async () => {
    const idx = dir();
    const run = savedRun(saved, 1, { 'shadergrad.dataDir': idx });
    expect((await resolve(['--resume', run])).dataDir).toBe(idx);
    expect((await resolve(['--resume', run, '--data', idx])).dataDir).toBe(idx);
    const other = dir();
    await expect(resolve(['--resume', run, '--data', other])).rejects.toThrow(
      `--data ${other}: the run in ${run} trains on --data ${idx};`,
    );
    await expect(resolve(['--resume', run, '--dataset', 'mnist'])).rejects.toThrow(
      `--dataset mnist: the run in ${run} trains on --data ${idx};`,
    );
  });
});
