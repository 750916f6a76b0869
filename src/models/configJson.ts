/**
 * Reading a JSON config file: every key checked against the TrainConfig it fills, partial objects
 * merged over the defaults, errors naming the key path ("model.layers[2].kernel: ...").
 */
import { isRecord } from '../base/json';
import {
  LR_SCHEDULE_KINDS,
  OPTIMIZER_KINDS,
  ShadergradError,
  type LrSchedule,
  type OptimizerConfig,
} from '../core';
import {
  DATASET_NAMES,
  PRECISIONS,
  LAYER_FIELDS,
  LAYER_TYPES,
  LINK_FIELDS,
  OPTIONAL_LAYER_FIELDS,
  LOSSES,
  defaultTrainConfig,
  fail,
  flag,
  fraction,
  num,
  oneOf,
  show,
  size,
  validateModel,
  whole,
  type LayerSpec,
  type ModelConfig,
  type TrainConfig,
} from './config';

/** Reads one value at `path`; `base` is the default it replaces (objects merge into it). */
type Read<T> = (v: unknown, path: string, base: T) => T;
type Spec<T> = { [K in keyof T]-?: Read<T[K]> };

/** A key as a key path shows it: bare when it looks like one, else quoted and cut (show). */
function keyLabel(key: string): string {
  return /^[A-Za-z_$][\w$]{0,39}$/.test(key) ? key : show(key);
}

function merge<T extends object>(v: unknown, path: string, spec: Spec<T>, base: T): T {
  if (!isRecord(v)) return fail(path, `expected an object, got ${show(v)}`);
  const out = { ...base };
  for (const [key, value] of Object.entries(v)) {
    const at = path === '' ? keyLabel(key) : `${path}.${keyLabel(key)}`;
    if (!Object.hasOwn(spec, key))
      fail(at, `unknown key (expected one of ${Object.keys(spec).join(', ')})`);
    const k = key as keyof T;
    out[k] = spec[k](value, at, base[k]);
  }
  return out;
}

/** A layer from JSON: omitted fields default as in Keras (stride 1, 'valid', no activation; a
 * pool's stride is its kernel); name, inputs, bias, eps and momentum may be left out. Values are
 * checked by validateModel, with the same key paths. */
function readLayer(v: unknown, path: string): LayerSpec {
  if (!isRecord(v)) return fail(path, `expected a layer like {"type": "flatten"}, got ${show(v)}`);
  const type = oneOf(LAYER_TYPES)(v.type, `${path}.type`);
  const keys = [...Object.keys(LINK_FIELDS), ...Object.keys(LAYER_FIELDS[type])];
  const bad = Object.keys(v).find((key) => key !== 'type' && !keys.includes(key));
  if (bad !== undefined)
    fail(`${path}.${keyLabel(bad)}`, `unknown key for a ${type} layer (${keys.join(', ')})`);
  const defaults: Record<string, unknown> = {
    stride: type === 'conv2d' ? 1 : v.kernel,
    padding: 'valid',
    activation: 'none',
  };
  const layer: Record<string, unknown> = { type };
  for (const key of keys) {
    const value = Object.hasOwn(v, key) ? v[key] : defaults[key];
    if (value !== undefined) layer[key] = value;
    else if (!OPTIONAL_LAYER_FIELDS.has(key))
      fail(`${path}.${key}`, `missing from this ${type} layer`);
  }
  for (const [key, check] of Object.entries(LINK_FIELDS))
    if (layer[key] !== undefined) check(layer[key], `${path}.${key}`);
  return layer as unknown as LayerSpec;
}

function readLayers(v: unknown, path: string): LayerSpec[] {
  if (!Array.isArray(v) || v.length === 0)
    return fail(path, `expected a non-empty list of layers, got ${show(v)}`);
  return v.map((l, i) => readLayer(l, `${path}[${i}]`));
}

const modelSpec: Spec<ModelConfig> = {
  input: (v, path, base) => merge(v, path, { channels: size, height: size, width: size }, base),
  classes: size,
  layers: readLayers,
  loss: oneOf(LOSSES),
};
const nonNegative = num((n) => n >= 0, 'a number >= 0');
/** Each schedule kind's fields, and the ones it needs. */
const SCHEDULE_FIELDS: Record<
  LrSchedule['kind'],
  [Record<string, (v: unknown, path: string) => number>, string[]]
> = {
  constant: [{}, []],
  step: [{ stepSize: size, gamma: nonNegative }, ['stepSize']],
  // totalSteps 0: the whole run, filled in by the CLI once it knows the training set
  cosine: [{ totalSteps: whole(0), minLr: nonNegative }, ['totalSteps']],
};

/** A learning-rate schedule: {"kind": "step", "stepSize": 30}, {"kind": "cosine", ...}. */
function readSchedule(v: unknown, path: string): LrSchedule {
  if (!isRecord(v))
    return fail(
      path,
      `expected an object like {"kind": "cosine", "totalSteps": 1000}, got ${show(v)}`,
    );
  const kind = oneOf(LR_SCHEDULE_KINDS)(v.kind, `${path}.kind`);
  const [fields, required] = SCHEDULE_FIELDS[kind];
  const bad = Object.keys(v).find((key) => key !== 'kind' && !Object.hasOwn(fields, key));
  if (bad !== undefined)
    fail(
      `${path}.${keyLabel(bad)}`,
      `unknown key for a ${kind} schedule (${Object.keys(fields).join(', ') || 'it has none'})`,
    );
  const out: Record<string, unknown> = { kind };
  for (const [key, read] of Object.entries(fields)) {
    if (Object.hasOwn(v, key)) out[key] = read(v[key], `${path}.${key}`);
    else if (required.includes(key)) fail(`${path}.${key}`, `missing from this ${kind} schedule`);
  }
  return out as unknown as LrSchedule;
}

const optimizerSpec: Spec<OptimizerConfig> = {
  kind: oneOf(OPTIMIZER_KINDS),
  lr: num((n) => n > 0, 'a number > 0'),
  beta1: fraction,
  beta2: fraction,
  eps: num((n) => n > 0, 'a number > 0'),
  momentum: fraction,
  alpha: fraction,
  weightDecay: num((n) => n >= 0, 'a number >= 0'),
  nesterov: flag,
  schedule: readSchedule,
  warmupSteps: whole(0),
  clipGradNorm: num((n) => n > 0, 'a number > 0'),
  decayBiasAndNorm: flag,
};
const trainSpec: Spec<TrainConfig> = {
  model: (v, path, base) => merge(v, path, modelSpec, base),
  optimizer: (v, path, base) => merge(v, path, optimizerSpec, base),
  batchSize: size,
  epochs: size,
  seed: num((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'a whole number in [0, 2^32)'),
  dataset: oneOf(DATASET_NAMES),
  limit: size,
  snapshotEvery: whole(0),
  checkpointEvery: whole(0),
  precision: oneOf(PRECISIONS),
};

/** Largest config text read (a real config is a few kB; a bigger one is not a config). */
export const MAX_CONFIG_CHARS = 1 << 20;
/** Deepest nesting of objects and lists in a config (a real one is 4 deep). */
export const MAX_CONFIG_DEPTH = 32;

/**
 * A TrainConfig from the text of a JSON config (a --config file, a checkpoint's metadata). Text
 * longer than MAX_CONFIG_CHARS or nested deeper than MAX_CONFIG_DEPTH is refused before it is
 * parsed, so that no input reaches a recursion limit or prints megabytes back; then as
 * parseTrainConfig. Errors are one line starting with `source`.
 */
export function parseTrainConfigText(text: string, source: string): TrainConfig {
  if (text.length > MAX_CONFIG_CHARS)
    throw new ShadergradError(
      `${source}: ${text.length} characters, more than a config holds (at most ${MAX_CONFIG_CHARS})`,
    );
  const depth = nestingDepth(text);
  if (depth > MAX_CONFIG_DEPTH)
    throw new ShadergradError(
      `${source}: nested ${depth} levels deep, more than a config holds (at most ${MAX_CONFIG_DEPTH})`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    throw new ShadergradError(`${source}: not valid JSON (${why.slice(0, 200)})`);
  }
  return parseTrainConfig(json, source);
}

/** The deepest nesting of [ and { in JSON text, outside strings (a scan, no recursion). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/**
 * A TrainConfig from a JSON config file's parsed contents. Objects are merged over
 * defaultTrainConfig() key by key (so {"epochs": 3} is a whole config); lists (model.layers)
 * replace. Unknown keys, wrong types, unknown names and bad sizes throw a ShadergradError
 * "<source>: <key path>: <problem>"; the model is then validated (validateModel).
 */
export function parseTrainConfig(json: unknown, source: string): TrainConfig {
  try {
    if (!isRecord(json))
      fail('config', `expected a JSON object at the top level, got ${show(json)}`);
    const config = merge(json, '', trainSpec, defaultTrainConfig());
    validateModel(config.model);
    return config;
  } catch (e) {
    if (e instanceof ShadergradError)
      throw new ShadergradError(`${source}: ${e.message}`, { cause: e });
    throw e;
  }
}
