/**
 * The PyTorch-made golden case in ../shared/golden (see its README.md): a small variant of the
 * reference CNN, its batch, initial parameters, activations, gradients and 3 Adam steps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type SafetensorsFile } from '../../src/formats/safetensors';
import { Graph } from '../../src/graph/graph';

export const goldenDir = join(process.cwd(), '..', 'shared', 'golden');

export interface GoldenCase {
  file: SafetensorsFile;
  json: { loss_initial: number; losses_per_step: number[]; loss_after_step3: number };
  f32(name: string): Float32Array;
}

export function loadGolden(): GoldenCase {
  const file = readSafetensors(
    new Uint8Array(readFileSync(join(goldenDir, 'golden_pad2_c4_8_h32.safetensors'))),
    'golden_pad2_c4_8_h32.safetensors',
  );
  const json = JSON.parse(
    readFileSync(join(goldenDir, 'golden_pad2_c4_8_h32.json'), 'utf8'),
  ) as GoldenCase['json'];
  return {
    file,
    json,
    f32(name) {
      const t = file.tensors[name];
      if (!t || t.dtype !== 'F32') throw new Error(`golden: no F32 tensor ${name}`);
      return t.data;
    },
  };
}

export function goldenLabels(g: GoldenCase): Int32Array {
  const t = g.file.tensors.labels;
  if (!t || t.dtype !== 'I64') throw new Error('golden: labels must be I64');
  return Int32Array.from(t.data, (v) => Number(v));
}

/** conv 5x5x4 pad 2 ReLU, max-pool 2, conv 5x5x8 pad 2 ReLU, max-pool 2, fc 392->32 ReLU, fc 32->10, CE. */
export function goldenGraph(batch: number): { graph: Graph; nodes: Record<string, number> } {
  const g = new Graph();
  const images = g.input('images', [batch, 1, 28, 28]);
  const labels = g.labels('labels', batch);
  const conv1 = g.conv2d(images, {
    name: 'conv1',
    features: 4,
    kernel: 5,
    padding: 2,
    activation: 'relu',
  });
  const pool1 = g.pool('maxPool', conv1, 2);
  const conv2 = g.conv2d(pool1, {
    name: 'conv2',
    features: 8,
    kernel: 5,
    padding: 2,
    activation: 'relu',
  });
  const pool2 = g.pool('maxPool', conv2, 2);
  const flat = g.flatten(pool2);
  const fc1 = g.dense(flat, { name: 'fc1', units: 32, activation: 'relu' });
  const logits = g.dense(fc1, { name: 'fc2', units: 10 });
  g.softmaxCrossEntropy(logits, labels);
  return { graph: g, nodes: { conv1, pool1, conv2, pool2, flat, fc1, logits } };
}

export const goldenParams = [
  'conv1.weight',
  'conv1.bias',
  'conv2.weight',
  'conv2.bias',
  'fc1.weight',
  'fc1.bias',
  'fc2.weight',
  'fc2.bias',
];

/** A generator's outputs in tests/golden (<case>.safetensors and <case>.json), typed by the caller. */
export interface RepoGolden<J> {
  file: SafetensorsFile;
  json: J;
  f32: (name: string) => Float32Array;
  /** An I64 tensor (token ids, labels) as numbers. */
  ids: (name: string) => number[];
}

export function loadRepoGolden<J>(name: string): RepoGolden<J> {
  const dir = join(import.meta.dirname, '..', 'golden');
  const file = readSafetensors(
    new Uint8Array(readFileSync(join(dir, `${name}.safetensors`))),
    name,
  );
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as J;
  const missing = (key: string, dtype: string) => new Error(`${name}: no ${dtype} tensor ${key}`);
  return {
    file,
    json,
    f32: (key) => {
      const t = file.tensors[key];
      if (t?.dtype !== 'F32') throw missing(key, 'F32');
      return t.data;
    },
    ids: (key) => {
      const t = file.tensors[key];
      if (t?.dtype !== 'I64') throw missing(key, 'I64');
      return Array.from(t.data, Number);
    },
  };
}
