/**
 * Each dataset's own starting point (points, noise, network, optimizer, learning rate, test
 * split, seed), and the rule for switching datasets: a setting still at the old dataset's default
 * takes the new dataset's default; a setting the user changed keeps its value. The rule looks at
 * values only, so a shared link behaves the same as the page it came from.
 */
import type { Activation, OptimizerKind, Toy2dKind } from '../api';
import type { LossKind } from './net';

/** The optimizers the playground offers and compares (AdamW's decay matters little at this size). */
export const optimizerKinds = [
  'sgd',
  'momentum',
  'rmsprop',
  'adam',
] as const satisfies readonly OptimizerKind[];
export type PlaygroundOptimizer = (typeof optimizerKinds)[number];

/** The settings that follow the dataset. */
export interface DatasetDefaults {
  /** Points generated in all (train and test together). */
  count: number;
  noise: number;
  /** Seeds the dataset, the split and the initial weights. */
  seed: number;
  /** Hidden layer widths, input side first; empty is a linear model. */
  hidden: number[];
  activation: Activation;
  loss: LossKind;
  optimizer: PlaygroundOptimizer;
  lr: number;
  /** Fraction of each class held out as the test set (never trained on). */
  testFraction: number;
}

export const datasetSettingNames = [
  'count',
  'noise',
  'seed',
  'hidden',
  'activation',
  'loss',
  'optimizer',
  'lr',
  'testFraction',
] as const satisfies readonly (keyof DatasetDefaults)[];

/**
 * XOR is the course's first network: the 4 corners, 2-2-1 with sigmoid units and MSE, no test
 * set (every corner is needed to define XOR). Adam at 0.03 from seed 3 classifies all four
 * corners within about 150 steps on every device we tried. The others are sized to be learned
 * in a few hundred to a few thousand full-batch Adam steps, a fifth of the points held out.
 */
export const datasetDefaults: Readonly<Record<Toy2dKind, Readonly<DatasetDefaults>>> = {
  xor: {
    count: 4,
    noise: 0,
    seed: 3,
    hidden: [2],
    activation: 'sigmoid',
    loss: 'mse',
    optimizer: 'adam',
    lr: 0.03,
    testFraction: 0,
  },
  circles: {
    count: 200,
    noise: 0.05,
    seed: 1,
    hidden: [6],
    activation: 'tanh',
    loss: 'crossEntropy',
    optimizer: 'adam',
    lr: 0.03,
    testFraction: 0.2,
  },
  // Two arms of 1.75 turns need two layers and more points along each arm.
  spirals: {
    count: 300,
    noise: 0.02,
    seed: 1,
    hidden: [16, 16],
    activation: 'tanh',
    loss: 'crossEntropy',
    optimizer: 'adam',
    lr: 0.02,
    testFraction: 0.2,
  },
  gaussians: {
    count: 150,
    noise: 0.05,
    seed: 1,
    hidden: [4],
    activation: 'tanh',
    loss: 'crossEntropy',
    optimizer: 'adam',
    lr: 0.03,
    testFraction: 0.2,
  },
};

/** A fresh copy of `kind`'s defaults (the hidden widths are not shared with the table). */
export function defaultsOf(kind: Toy2dKind): DatasetDefaults {
  const d = datasetDefaults[kind];
  return { ...d, hidden: [...d.hidden] };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `s` moved to the dataset `kind`: each dataset setting still equal to the current dataset's
 * default takes `kind`'s default; the ones that differ (the user's own choices) are kept, and so
 * is everything that does not depend on the dataset (mode, steps per frame, ...).
 */
export function switchDataset<S extends DatasetDefaults & { dataset: Toy2dKind }>(
  s: S,
  kind: Toy2dKind,
): S {
  const [from, to] = [datasetDefaults[s.dataset], defaultsOf(kind)];
  const next: S = { ...s, dataset: kind, hidden: [...s.hidden] };
  for (const name of datasetSettingNames)
    if (same(s[name], from[name])) Object.assign(next, { [name]: to[name] });
  return next;
}

/** `s` on the dataset `kind` with every dataset setting at its default (what a preset does). */
export function withDefaults<S extends DatasetDefaults & { dataset: Toy2dKind }>(
  s: S,
  kind: Toy2dKind,
): S {
  return { ...s, dataset: kind, ...defaultsOf(kind) };
}
