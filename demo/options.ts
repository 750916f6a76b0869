/**
 * The demo's settings: one parser for the URL (?features=4,8&dense=32&batch=32&limit=512) and
 * for the settings form, whose input names are the URL parameter names. Defaults are the
 * course's reference CNN with Adam 1e-3 at batch 64 on MNIST. Pure code (no DOM).
 */
import {
  ACTIVATIONS,
  DATASET_NAMES,
  OPTIMIZER_KINDS,
  ShadergradError,
  cnnFromKnobs,
  defaultOptimizer,
  defaultTrainConfig,
  referenceKnobs,
  type AxisPadding,
  type CnnKnobs,
  type DatasetName,
  type OptimizerKind,
  type TrainConfig,
} from './api';

export interface DemoOptions {
  dataset: DatasetName;
  knobs: Required<CnnKnobs>;
  optimizer: OptimizerKind;
  lr: number;
  batch: number;
  /** Train on the first `limit` training images; undefined = all of them. */
  limit: number | undefined;
  /** Test images in the confusion matrix (the first ones of the test split). */
  testSubset: number;
  /** Pause by itself once this many steps are done (for tests and demos); 0 = never. */
  stopAfter: number;
  /** Start training as soon as the data is loaded. */
  autostart: boolean;
  seed: number;
}

/** The settings a form or URL can hold, by parameter name. */
export const OPTION_NAMES = [
  'dataset',
  'features',
  'kernel',
  'stride',
  'padding',
  'activation',
  'pool',
  'dense',
  'optimizer',
  'lr',
  'batch',
  'limit',
  'test',
  'steps',
  'autostart',
  'seed',
] as const;

function fail(name: string, problem: string): never {
  throw new ShadergradError(`setting '${name}': ${problem}`);
}

function whole(p: URLSearchParams, name: string, fallback: number, min = 1): number {
  const raw = p.get(name);
  if (raw === null || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    fail(name, `expected a whole number >= ${min}, got '${raw}'`);
  return v;
}

function choice<T extends string>(
  p: URLSearchParams,
  name: string,
  options: readonly T[],
  fallback: T,
): T {
  const raw = p.get(name);
  if (raw === null || raw === '') return fallback;
  if (!(options as readonly string[]).includes(raw))
    fail(name, `expected one of ${options.join(', ')}, got '${raw}'`);
  return raw as T;
}

function padding(p: URLSearchParams, fallback: AxisPadding): AxisPadding {
  const raw = p.get('padding');
  if (raw === null || raw === '') return fallback;
  if (raw === 'same' || raw === 'valid') return raw;
  return whole(p, 'padding', 0, 0);
}

function features(p: URLSearchParams, fallback: [number, number]): [number, number] {
  const raw = p.get('features');
  if (raw === null || raw.trim() === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  const [a = 0, b = 0] = values;
  if (values.length !== 2 || !values.every((v) => Number.isInteger(v) && v >= 1))
    fail('features', `expected two whole numbers like 32,64 (one per conv layer), got '${raw}'`);
  return [a, b];
}

/** Reads every setting from URL parameters (or a form's); throws naming a bad one. */
export function parseOptions(p: URLSearchParams): DemoOptions {
  const ref = referenceKnobs();
  const lrRaw = p.get('lr');
  const lr = lrRaw === null || lrRaw === '' ? defaultOptimizer().lr : Number(lrRaw);
  if (!Number.isFinite(lr) || lr <= 0) fail('lr', `expected a number > 0, got '${lrRaw}'`);
  const limit = whole(p, 'limit', 0, 0);
  return {
    dataset: choice(p, 'dataset', DATASET_NAMES, 'mnist'),
    knobs: {
      features: features(p, ref.features),
      kernel: whole(p, 'kernel', ref.kernel),
      stride: whole(p, 'stride', ref.stride),
      padding: padding(p, ref.padding),
      activation: choice(p, 'activation', ACTIVATIONS, ref.activation),
      pool: choice(p, 'pool', ['max', 'avg'] as const, ref.pool),
      dense: whole(p, 'dense', ref.dense),
    },
    optimizer: choice(p, 'optimizer', OPTIMIZER_KINDS, 'adam'),
    lr,
    batch: whole(p, 'batch', 64),
    limit: limit === 0 ? undefined : limit,
    testSubset: whole(p, 'test', 1000),
    stopAfter: whole(p, 'steps', 0, 0),
    autostart: p.get('autostart') === '1' || p.get('autostart') === 'true',
    seed: whole(p, 'seed', 1, 0),
  };
}

/** The settings as parameters (the inverse of parseOptions); `limit` absent means all. */
export function optionsToParams(o: DemoOptions): URLSearchParams {
  const k = o.knobs;
  const p = new URLSearchParams({
    dataset: o.dataset,
    features: k.features.join(','),
    kernel: String(k.kernel),
    stride: String(k.stride),
    padding: String(k.padding),
    activation: k.activation,
    pool: k.pool,
    dense: String(k.dense),
    optimizer: o.optimizer,
    lr: String(o.lr),
    batch: String(o.batch),
    test: String(o.testSubset),
    steps: String(o.stopAfter),
    seed: String(o.seed),
  });
  if (o.limit !== undefined) p.set('limit', String(o.limit));
  if (o.autostart) p.set('autostart', '1');
  return p;
}

/** The training config the settings describe; throws (naming the layer) if the model cannot run. */
export function trainConfigOf(o: DemoOptions): TrainConfig {
  const base = defaultTrainConfig();
  return {
    ...base,
    model: cnnFromKnobs(o.knobs),
    optimizer: { ...defaultOptimizer(o.optimizer), lr: o.lr },
    batchSize: o.batch,
    seed: o.seed,
    dataset: o.dataset,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  };
}

/**
 * The settings that rebuild `config` (e.g. one read from a checkpoint), or undefined when its
 * model is not the reference template with knobs turned (a CLI config with other layers).
 */
export function optionsFromConfig(config: TrainConfig, base: DemoOptions): DemoOptions | undefined {
  const convs = config.model.layers.filter((l) => l.type === 'conv2d');
  const pool = config.model.layers.find((l) => l.type === 'maxPool' || l.type === 'avgPool');
  const dense = config.model.layers.find((l) => l.type === 'dense');
  const [c1, c2] = convs;
  if (!c1 || !c2 || !pool || !dense) return undefined;
  const knobs: Required<CnnKnobs> = {
    features: [c1.features, c2.features],
    kernel: c1.kernel,
    stride: c1.stride,
    padding: c1.padding,
    activation: c1.activation,
    pool: pool.type === 'avgPool' ? 'avg' : 'max',
    dense: dense.units,
  };
  const options: DemoOptions = {
    ...base,
    dataset: config.dataset,
    knobs,
    optimizer: config.optimizer.kind,
    lr: config.optimizer.lr,
    batch: config.batchSize,
    seed: config.seed,
  };
  try {
    const same = JSON.stringify(trainConfigOf(options).model) === JSON.stringify(config.model);
    return same ? options : undefined;
  } catch {
    return undefined;
  }
}
