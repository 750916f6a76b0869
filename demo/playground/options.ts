/**
 * The playground's settings: read from the form (or the URL, whose parameters use the same
 * names), checked with a clear message per field, and written back to the form for presets.
 */
import { toy2dKinds, type Activation, type OptimizerKind, type Toy2dKind } from '../api';
import type { LossKind } from './net';

export type Mode = 'single' | 'compare';

/** The optimizers in the order compare mode trains and lists them. */
/** The optimizers the playground offers and compares (AdamW's decay matters little at this size). */
export const optimizerKinds = [
  'sgd',
  'momentum',
  'rmsprop',
  'adam',
] as const satisfies readonly OptimizerKind[];
export type PlaygroundOptimizer = (typeof optimizerKinds)[number];
const activations: readonly Activation[] = ['sigmoid', 'tanh', 'relu', 'none'];
const losses: readonly LossKind[] = ['mse', 'crossEntropy'];
const modes: readonly Mode[] = ['single', 'compare'];

export interface Settings {
  mode: Mode;
  dataset: Toy2dKind;
  /** Points in the training set (all of them form each batch). */
  count: number;
  noise: number;
  /** Clusters of the gaussians dataset (the others have 2 classes). */
  classes: number;
  /** Seeds both the dataset and the initial weights. */
  seed: number;
  /** Hidden layer widths, input side first; empty is a linear model. */
  hidden: number[];
  activation: Activation;
  loss: LossKind;
  optimizer: PlaygroundOptimizer;
  lr: number;
  /** Compare mode: each optimizer's learning rate (SGD needs a far larger one than Adam). */
  compareLr: Record<PlaygroundOptimizer, number>;
  /** Optimizer steps between two redraws. */
  stepsPerFrame: number;
}

export const defaultSettings: Settings = {
  mode: 'single',
  dataset: 'circles',
  count: 200,
  noise: 0.05,
  classes: 3,
  seed: 1,
  hidden: [6],
  activation: 'tanh',
  loss: 'crossEntropy',
  optimizer: 'adam',
  lr: 0.03,
  compareLr: { sgd: 0.5, momentum: 0.05, rmsprop: 0.01, adam: 0.03 },
  stepsPerFrame: 10,
};

/**
 * The course's first network: XOR on the 4 corners, 2-2-1 with sigmoid units and MSE. Adam at
 * 0.03 from seed 3 classifies all four corners within about 150 steps on every device we tried.
 */
export const xorPreset: Partial<Settings> = {
  dataset: 'xor',
  count: 4,
  noise: 0,
  seed: 3,
  hidden: [2],
  activation: 'sigmoid',
  loss: 'mse',
  optimizer: 'adam',
  lr: 0.03,
};

const MAX_LAYERS = 6;
const MAX_WIDTH = 64;

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    throw new Error(`${name}: '${value}' is not one of ${allowed.join(', ')}`);
  return found;
}

function numberIn(name: string, value: string, min: number, max: number, whole = false): number {
  const v = Number(value.trim());
  if (
    value.trim() === '' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (whole && !Number.isInteger(v))
  )
    throw new Error(
      `${name}: '${value}', expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`,
    );
  return v;
}

/** "8, 8" -> [8, 8]; "" -> [] (no hidden layer). */
export function parseWidths(value: string): number[] {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length > MAX_LAYERS)
    throw new Error(`hidden layers: ${parts.length} given, at most ${MAX_LAYERS}`);
  return parts.map((p) => numberIn('hidden layer width', p, 1, MAX_WIDTH, true));
}

/** Settings from named values (form fields or URL parameters); a missing name keeps its default. */
export function parseSettings(get: (name: string) => string | undefined): Settings {
  const d = defaultSettings;
  const text = (name: string, fallback: string | number): string => get(name) ?? String(fallback);
  const lr = (name: string, fallback: number): number =>
    numberIn(`learning rate (${name})`, text(name, fallback), 1e-6, 100);
  return {
    mode: oneOf('mode', text('mode', d.mode), modes),
    dataset: oneOf('dataset', text('dataset', d.dataset), toy2dKinds),
    count: numberIn('points', text('count', d.count), 4, 2000, true),
    noise: numberIn('noise', text('noise', d.noise), 0, 1),
    classes: numberIn('classes', text('classes', d.classes), 2, 10, true),
    seed: numberIn('seed', text('seed', d.seed), 0, 2 ** 31 - 1, true),
    hidden: parseWidths(text('hidden', d.hidden.join(','))),
    activation: oneOf('activation', text('activation', d.activation), activations),
    loss: oneOf('loss', text('loss', d.loss), losses),
    optimizer: oneOf('optimizer', text('optimizer', d.optimizer), optimizerKinds),
    lr: lr('lr', d.lr),
    compareLr: {
      sgd: lr('lr-sgd', d.compareLr.sgd),
      momentum: lr('lr-momentum', d.compareLr.momentum),
      rmsprop: lr('lr-rmsprop', d.compareLr.rmsprop),
      adam: lr('lr-adam', d.compareLr.adam),
    },
    stepsPerFrame: numberIn('steps per frame', text('steps', d.stepsPerFrame), 1, 500, true),
  };
}

/** The form field values for `s`, by field name (the inverse of parseSettings). */
export function settingsToFields(s: Settings): [string, string][] {
  return [
    ['mode', s.mode],
    ['dataset', s.dataset],
    ['count', String(s.count)],
    ['noise', String(s.noise)],
    ['classes', String(s.classes)],
    ['seed', String(s.seed)],
    ['hidden', s.hidden.join(',')],
    ['activation', s.activation],
    ['loss', s.loss],
    ['optimizer', s.optimizer],
    ['lr', String(s.lr)],
    ...optimizerKinds.map((k): [string, string] => [`lr-${k}`, String(s.compareLr[k])]),
    ['steps', String(s.stepsPerFrame)],
  ];
}

/**
 * Whether `b` can keep `a`'s networks: only the steps per frame differ or, in compare mode
 * (which trains every optimizer with its own rate), the single-mode optimizer and rate.
 */
export function sameNetwork(a: Settings, b: Settings): boolean {
  const key = (s: Settings) => {
    const compare = s.mode === 'compare';
    return JSON.stringify({
      ...s,
      stepsPerFrame: 0,
      optimizer: compare ? '' : s.optimizer,
      lr: compare ? 0 : s.lr,
    });
  };
  return key(a) === key(b);
}
