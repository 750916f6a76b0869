/**
 * checkpoint.safetensors, the CLI's resumable checkpoint: a snapshot round-trips through it bit
 * for bit (metrics and position included); a file that does not fit the model or lacks its
 * position is refused with the file named; `--resume` prefers it and falls back to
 * model + optimizer files at an epoch boundary; the autotuner's choices ride along for the resumed
 * run to replay; metrics.jsonl loses the unfinished epochs' lines.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/train/snapshot';
import {
  readSafetensors,
  writeSafetensors,
  type SafetensorsTensor,
} from '../../src/formats/safetensors';
import type { TunedProduct } from '../../src/graph/tuneReport';
import { cnnFromKnobs, defaultTrainConfig, type TrainConfig } from '../../src/models/config';
import { parameterShapes } from '../../src/models/network';
import {
  CHECKPOINT_FILE,
  TUNING_METADATA_KEY,
  readSavedRun,
  snapshotBytes,
  snapshotFromBytes,
  trimMetrics,
} from '../../src/cli/checkpoint';
import { resolveTrainConfig, type TrainFlags } from '../../src/cli/config';
import { trainTune } from '../../src/cli/tune';

const config: TrainConfig = {
  ...defaultTrainConfig(),
  model: cnnFromKnobs({ features: [2, 3], dense: 4 }),
  batchSize: 8,
};

/** A snapshot of `config`'s model with distinct values everywhere. */
function fakeSnapshot(): Snapshot {
  const params = new Map<string, Float32Array>();
  const state = new Map<string, Float32Array[]>();
  let k = 0;
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.sin(++k));
  for (const [name, shape] of parameterShapes(config.model)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(name, fill(n));
    state.set(name, [fill(n), fill(n)]);
  }
  return {
    position: { epoch: 3, batch: 5 },
    step: 2 * 7 + 5,
    permutationSeed: config.seed * 1000 + 3,
    optimizerStep: 19,
    params,
    state,
    lossSum: Math.fround(11.123456789),
    correct: 17,
  };
}

const dir = (): string => mkdtempSync(join(tmpdir(), 'shadergrad-ckpt-'));

/** What `--resume DIR` with these flags resumes with: the config and where it continues. */
async function readResume(resume: string, flags: TrainFlags) {
  const resolved = await resolveTrainConfig({ resume, flags });
  return { config: resolved.config, position: resolved.resume?.position };
}

describe('checkpoint.safetensors', () => {
  it('round-trips a snapshot bit for bit, with torch names for the optimizer state', () => {
    const s = fakeSnapshot();
    const bytes = snapshotBytes(s, config);
    const back = snapshotFromBytes(bytes, 'c.safetensors', config);
    expect(back).toEqual(s);
    expect(Object.is(back.lossSum, s.lossSum)).toBe(true);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + 2000));
    expect(header).toContain('"conv1.weight.exp_avg_sq"');
  });

  it('refuses a file of another model, or without its position, naming the file', () => {
    const other = { ...config, model: cnnFromKnobs({ features: [2, 3], dense: 5 }) };
    const bytes = snapshotBytes(fakeSnapshot(), config);
    expect(() => snapshotFromBytes(bytes, 'c.safetensors', other)).toThrow(
      /^c\.safetensors: checkpoint does not match the model: tensor "fc1\.weight" has shape \[4, 147\], expected \[5, 147\]/,
    );
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const [name, shape] of parameterShapes(config.model)) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (const suffix of ['', '.exp_avg', '.exp_avg_sq'])
        tensors[`${name}${suffix}`] = { dtype: 'F32', shape: [...shape], data };
    }
    const noPlace = writeSafetensors(tensors, { step: '3' });
    expect(() => snapshotFromBytes(noPlace, 'c.safetensors', config)).toThrow(
      'c.safetensors: metadata shadergrad.position is missing',
    );
  });

  it('--resume prefers it, refuses another batch size mid-epoch, else uses model + optimizer', async () => {
    const run = dir();
    writeFileSync(join(run, CHECKPOINT_FILE), snapshotBytes(fakeSnapshot(), config));
    const point = await readResume(run, { knobs: {} });
    expect(point.position).toEqual({ epoch: 3, batch: 5 });
    expect(point.config).toEqual(config);
    await expect(readResume(run, { knobs: {}, batchSize: 16 })).rejects.toThrow(
      /--batch: the run stopped mid-epoch at batch size 8/,
    );
    const old = dir();
    const meta = { 'shadergrad.config': JSON.stringify(config), epoch: '2' };
    const one: Record<string, SafetensorsTensor> = {
      x: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
    };
    writeFileSync(join(old, 'model.safetensors'), writeSafetensors(one, meta));
    writeFileSync(join(old, 'optimizer.safetensors'), writeSafetensors(one, meta));
    expect((await readResume(old, { knobs: {}, epochs: 4 })).position).toEqual({
      epoch: 3,
      batch: 0,
    });
    await expect(readResume(dir(), { knobs: {} })).rejects.toThrow(
      /^--resume .*model\.safetensors: cannot read the file: no such file or folder \(ENOENT\)$/,
    );
  });
});

describe("the autotuner's choices", () => {
  const chosen: TunedProduct[] = [
    {
      key: 'NN M8 K9',
      label: 'matmul.x',
      flops: 144,
      choice: 'registerTile 16x4',
      source: 'timed',
      ms: 1.5,
      defaultMs: 2,
    },
    { key: 'conv dX [3] batch 8', label: 'conv', flops: 99, choice: 'im2col', source: 'budget' },
  ];
  const resumeOf = async (bytes: Uint8Array) => {
    const run = dir();
    writeFileSync(join(run, CHECKPOINT_FILE), bytes);
    return (await resolveTrainConfig({ resume: run, flags: { knobs: {} } })).resume;
  };

  it('ride in the checkpoint, so --resume replays them; none when the run was not tuned', async () => {
    expect(
      (await resumeOf(snapshotBytes(fakeSnapshot(), config, undefined, chosen)))?.tuning,
    ).toEqual(chosen);
    expect(await resumeOf(snapshotBytes(fakeSnapshot(), config))).not.toHaveProperty('tuning');
  });

  it('are replayed by the resumed run, which says so when --tune off drops them', () => {
    const lines: string[] = [];
    const print = (line: string) => lines.push(line);
    expect(trainTune('cached', chosen, print)).toMatchObject({ mode: 'cached', replay: chosen });
    expect(trainTune('cached', undefined, print)).not.toHaveProperty('replay');
    expect(lines).toEqual([]);
    trainTune('off', chosen, print);
    expect(lines).toEqual([
      expect.stringMatching(
        /^--tune off: the checkpoint names the kernels the run was tuned to \(2 choices\); .* will not match an uninterrupted run's bit for bit$/,
      ),
    ]);
  });

  it('refuses metadata that is not a list of choices, naming the file and the entry', async () => {
    const withTuning = (text: string): Uint8Array => {
      const good = readSafetensors(snapshotBytes(fakeSnapshot(), config), 'c');
      return writeSafetensors(good.tensors, { ...good.metadata, [TUNING_METADATA_KEY]: text });
    };
    await expect(resumeOf(withTuning('{'))).rejects.toThrow(
      /checkpoint\.safetensors: metadata shadergrad\.tuning is not JSON$/,
    );
    await expect(resumeOf(withTuning('{"a": 1}'))).rejects.toThrow(
      /shadergrad\.tuning is not a list of kernel choices$/,
    );
    const noSource = JSON.stringify([chosen[0], { ...chosen[1], source: 'guessed' }]);
    await expect(resumeOf(withTuning(noSource))).rejects.toThrow(
      /shadergrad\.tuning entry 1 is not a kernel choice/,
    );
  });
});

describe('a damaged optimizer state', () => {
  it('is refused: a NaN or infinity in any tensor, a step count near 2^32', () => {
    const nan = fakeSnapshot();
    const state = nan.state.get('fc1.bias');
    if (state?.[1]) state[1][2] = NaN;
    expect(() => snapshotFromBytes(snapshotBytes(nan, config), 'c.safetensors', config)).toThrow(
      /^c\.safetensors: tensor "fc1\.bias\.exp_avg_sq" holds NaN at element 2 \(shadergrad never saves a non-finite state: the file is damaged\)$/,
    );
    const inf = fakeSnapshot();
    const w = inf.params.get('conv1.weight');
    if (w) w[0] = -Infinity;
    expect(() => snapshotFromBytes(snapshotBytes(inf, config), 'c', config)).toThrow(
      /tensor "conv1\.weight" holds -Infinity at element 0/,
    );
    const wrapped = { ...fakeSnapshot(), optimizerStep: 2 ** 32 - 3 };
    expect(() => snapshotFromBytes(snapshotBytes(wrapped, config), 'c', config)).toThrow(
      /^c: metadata step 4294967293 is near 2\^32, where the GPU's step counter wraps; the file is damaged$/,
    );
    const ok = { ...fakeSnapshot(), optimizerStep: 2 ** 31 };
    expect(snapshotFromBytes(snapshotBytes(ok, config), 'c', config).optimizerStep).toBe(2 ** 31);
  });
});

describe('the data a run trains on', () => {
  it('is saved in the checkpoint: the --data folder as an absolute path', async () => {
    const withData = dir();
    const bytes = snapshotBytes(fakeSnapshot(), config, 'some/idx');
    writeFileSync(join(withData, CHECKPOINT_FILE), bytes);
    expect((await readSavedRun(withData)).dataDir).toBe(resolve('some/idx'));
    const named = dir();
    writeFileSync(join(named, CHECKPOINT_FILE), snapshotBytes(fakeSnapshot(), config));
    expect((await readSavedRun(named)).dataDir).toBeUndefined();
  });
});

describe('metrics.jsonl on resume', () => {
  it('keeps the finished epochs and drops the rest and a line cut short', async () => {
    const path = join(dir(), 'metrics.jsonl');
    writeFileSync(path, '{"epoch":1,"trainLoss":1}\n{"epoch":2,"trainLoss":0.5}\n{"epoch":3,"tr');
    await trimMetrics(path, 1);
    expect(readFileSync(path, 'utf8')).toBe('{"epoch":1,"trainLoss":1}\n');
    await trimMetrics(join(dir(), 'none.jsonl'), 1); // no file: nothing to do
  });
});
