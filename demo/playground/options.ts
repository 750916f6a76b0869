/**
 * The playground's settings: read from the form or the URL (whose parameters use the form's field
 * names, `?dataset=spirals&hidden=16,16&test=0.2`), each field checked on its own with a clear
 * message naming it, and written back to the form and the URL.
 *
 * A missing field takes its default (the dataset's, see datasets.ts); a bad one keeps the
 * fallback value and reports its message under the field's name, so one typo in a link or the
 * form never stops the rest of the page.
 */
import { toy2dKinds, type Activation, type Toy2dKind } from '../api';
import {
  defaultsOf,
  optimizerKinds,
  type DatasetDefaults,
  type PlaygroundOptimizer,
} from './datasets';
import type { LossKind } from './net';

export type Mode = 'single' | 'compare';

const activations: readonly Activation[] = ['sigmoid', 'tanh', 'relu', 'none'];
const losses: readonly LossKind[] = ['mse', 'crossEntropy'];
const modes: readonly Mode[] = ['single', 'compare'];

export interface Settings extends DatasetDefaults {
  mode: Mode;
  dataset: Toy2dKind;
  /** Clusters of the gaussians dataset (the others have 2 classes). */
  classes: number;
  /** Compare mode: each optimizer's learning rate (SGD needs a far larger one than Adam). */
  compareLr: Record<PlaygroundOptimizer, number>;
  /** Optimizer steps between two redraws. */
  stepsPerFrame: number;
}

/** The page's first dataset. */
const firstDataset: Toy2dKind = 'circles';

/** Settings with every field at its default for `dataset` (the defaults of a bare URL). */
export function defaultSettings(dataset: Toy2dKind = firstDataset): Settings {
  return {
    mode: 'single',
    dataset,
    classes: 3,
    compareLr: { sgd: 0.5, momentum: 0.05, rmsprop: 0.01, adam: 0.03 },
    stepsPerFrame: 10,
    ...defaultsOf(dataset),
  };
}

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

/** Settings read field by field; `errors` holds a message per bad field, by field name. */
export interface ReadSettings {
  settings: Settings;
  errors: Record<string, string>;
}

/**
 * Settings from named values (form fields or URL parameters). `fallback(dataset)` gives the value
 * of a field that is missing or bad (the dataset's defaults for a URL, the current settings for
 * the form); `fallbackDataset` stands in for a missing or bad dataset.
 */
export function readSettings(
  get: (name: string) => string | undefined,
  fallback: (dataset: Toy2dKind) => Settings = defaultSettings,
  fallbackDataset: Toy2dKind = firstDataset,
): ReadSettings {
  const errors: Record<string, string> = {};
  const read = <T>(name: string, parse: (raw: string) => T, otherwise: T): T => {
    const raw = get(name);
    if (raw === undefined) return otherwise;
    try {
      return parse(raw);
    } catch (e) {
      errors[name] = e instanceof Error ? e.message : String(e);
      return otherwise;
    }
  };
  const dataset = read('dataset', (v) => oneOf('dataset', v, toy2dKinds), fallbackDataset);
  const f = fallback(dataset);
  const lr = (name: string, otherwise: number): number =>
    read(name, (v) => numberIn(`learning rate (${name})`, v, 1e-6, 100), otherwise);
  const s: Settings = {
    mode: read('mode', (v) => oneOf('mode', v, modes), f.mode),
    dataset,
    count: read('count', (v) => numberIn('points', v, 4, 2000, true), f.count),
    noise: read('noise', (v) => numberIn('noise', v, 0, 1), f.noise),
    classes: read('classes', (v) => numberIn('classes', v, 2, 10, true), f.classes),
    seed: read('seed', (v) => numberIn('seed', v, 0, 2 ** 31 - 1, true), f.seed),
    hidden: read('hidden', parseWidths, f.hidden),
    activation: read('activation', (v) => oneOf('activation', v, activations), f.activation),
    loss: read('loss', (v) => oneOf('loss', v, losses), f.loss),
    optimizer: read('optimizer', (v) => oneOf('optimizer', v, optimizerKinds), f.optimizer),
    lr: lr('lr', f.lr),
    compareLr: {
      sgd: lr('lr-sgd', f.compareLr.sgd),
      momentum: lr('lr-momentum', f.compareLr.momentum),
      rmsprop: lr('lr-rmsprop', f.compareLr.rmsprop),
      adam: lr('lr-adam', f.compareLr.adam),
    },
    testFraction: read('test', (v) => numberIn('test fraction', v, 0, 0.9), f.testFraction),
    stepsPerFrame: read(
      'steps',
      (v) => numberIn('steps per frame', v, 1, 500, true),
      f.stepsPerFrame,
    ),
  };
  // Every cluster needs a point: too few points for the clusters is the point count's error.
  if (s.dataset === 'gaussians' && s.count < s.classes && errors.count === undefined) {
    errors.count = `points: ${s.count} is fewer than the ${s.classes} classes`;
    s.count = Math.max(f.count, s.classes);
  }
  return { settings: s, errors };
}

/** The form field values (and URL parameters) for `s`, by name: the inverse of readSettings. */
export function settingsToFields(s: Settings): [string, string][] {
  return [
    ['dataset', s.dataset],
    ['count', String(s.count)],
    ['noise', String(s.noise)],
    ['classes', String(s.classes)],
    ['test', String(s.testFraction)],
    ['seed', String(s.seed)],
    ['hidden', s.hidden.join(',')],
    ['activation', s.activation],
    ['loss', s.loss],
    ['mode', s.mode],
    ['optimizer', s.optimizer],
    ['lr', String(s.lr)],
    ...optimizerKinds.map((k): [string, string] => [`lr-${k}`, String(s.compareLr[k])]),
    ['steps', String(s.stepsPerFrame)],
  ];
}

/** The query string that reproduces `s` (every setting, so a link does not depend on defaults). */
export function settingsToQuery(s: Settings): string {
  return new URLSearchParams(settingsToFields(s)).toString();
}

/** Settings from a query string, with a message per bad parameter. */
export function settingsFromQuery(query: string): ReadSettings {
  const params = new URLSearchParams(query);
  return readSettings((name) => params.get(name) ?? undefined);
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
