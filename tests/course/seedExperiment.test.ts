/**
 * Lab 10, the seed experiment: a complete set of runs (baseline, one per knob, Fashion-MNIST, each
 * trained with its first layer saved) passes; a missing knob, a run that changed two knobs, an
 * untrained run and a missing first layer each fail with a line that says what to do.
 */
import { describe, expect, it } from 'vitest';
import {
  applyKnobs,
  defaultTrainConfig,
  type CnnKnobs,
  type TrainConfig,
} from '../../src/models/config';
import { gradeSeedExperiment, variedKnobs, type RunRecord } from '../../src/course/seedExperiment';

function run(
  folder: string,
  knobs: CnnKnobs,
  dataset: TrainConfig['dataset'] = 'mnist',
): RunRecord {
  const base = defaultTrainConfig();
  const config = { ...base, dataset, model: applyKnobs(base.model, knobs) };
  return {
    folder,
    config,
    epochs: [{ epoch: 1, testAccuracy: 0.98, samplesPerS: 230 }],
    files: ['config.json', 'metrics.jsonl', 'model.safetensors', 'conv1.safetensors'],
  };
}

const complete = (): RunRecord[] => [
  run('baseline', {}),
  run('features', { features: [16, 32] }),
  run('padding', { padding: 'valid' }),
  run('kernel3', { kernel: 3 }),
  run('stride2', { stride: 2 }),
  run('tanh', { activation: 'tanh' }),
  run('avgpool', { pool: 'avg' }),
  run('fashion', {}, 'fashion'),
];

describe('lab 10, the seed experiment', () => {
  it('reads what each run varied from the reference CNN', () => {
    expect(variedKnobs(run('b', {}))).toEqual([]);
    expect(variedKnobs(run('k', { kernel: 3, activation: 'tanh' }))).toEqual([
      'kernel',
      'activation',
    ]);
  });

  it('passes a complete set and prints the table of results', () => {
    const grade = gradeSeedExperiment(complete(), 'runs');
    expect(grade.findings.filter((f) => !f.ok)).toEqual([]);
    expect(grade.passed).toBe(true);
    expect(grade.details).toMatch(/kernel3 +mnist +kernel 3 +98\.00% {2}230 samples\/s/);
    expect(grade.details).toMatch(/fashion +fashion +baseline \(reference CNN\)/);
  });

  it('names a missing knob, a run that changed two, an untrained run and a missing first layer', () => {
    const runs = complete().filter((r) => r.folder !== 'stride2');
    runs.push(run('stride-and-kernel', { stride: 2, kernel: 3 }));
    const tanh = runs.find((r) => r.folder === 'tanh');
    if (tanh) tanh.files = tanh.files.filter((f) => f !== 'conv1.safetensors');
    runs.push({ ...run('crashed', { pool: 'avg' }), epochs: [] });
    const grade = gradeSeedExperiment(runs, 'runs');
    expect(grade.passed).toBe(false);
    expect(grade.findings.filter((f) => !f.ok).map((f) => f.message)).toEqual([
      'stride varied alone: no such run; train one with only --stride 2 (for example)',
      'crashed: no finished epoch in metrics.jsonl',
      'no conv1.safetensors (the first layer) in tanh',
    ]);
  });
});
