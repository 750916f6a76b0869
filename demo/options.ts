/**
 * The demo's settings: one parser for the URL (?features=4,8&dense=32&batch=32&limit=512,
 * ?model=resnet&width=8&blocks=1&skip=0&bn=1&compare=skip, or ?model=vit&dim=32&depth=2&heads=4&patch=7)
 * and for the settings form, whose input
 * names are the URL parameter names. Defaults are the course's reference CNN with Adam 1e-3 at
 * batch 64 on MNIST. Pure code (no DOM).
 */
import {
  ACTIVATIONS,
  DATASET_NAMES,
  OPTIMIZER_KINDS,
  RESNET_DEFAULTS,
  TUNE_MODES,
  PRECISIONS,
  ShadergradError,
  VIT_DEFAULTS,
  cnnFromKnobs,
  defaultOptimizer,
  defaultTrainConfig,
  cnnKnobsOf,
  referenceKnobs,
  resnetModel,
  vitModel,
  type AxisPadding,
  type CnnKnobs,
  type DatasetName,
  type OptimizerKind,
  type Precision,
  type ResnetKnobs,
  type TrainConfig,
  type TuneMode,
  type VitKnobs,
} from './api';

export const MODEL_KINDS = ['cnn', 'resnet', 'vit'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** What a comparison switches off in its second run: skip connections or batch norm. */
export const COMPARE_KINDS = ['none', 'skip', 'bn'] as const;
export type CompareKind = (typeof COMPARE_KINDS)[number];

/** Steps per run of a comparison when `steps` is not given (both runs must stop somewhere). */
export const COMPARE_STEPS = 300;

export interface DemoOptions {
  dataset: DatasetName;
  /** Which network: the reference CNN with `knobs`, or the ResNet preset with `resnet`. */
  model: ModelKind;
  knobs: Required<CnnKnobs>;
  resnet: Required<ResnetKnobs>;
  /** The ViT preset's knobs (URL dim, depth, heads, patch), with `model: 'vit'`. */
  vit: Required<Omit<VitKnobs, 'hidden' | 'dropout'>>;
  /** Train the resnet twice, with and without this switch; 'none' = one run. */
  compare: CompareKind;
  optimizer: OptimizerKind;
  lr: number;
  batch: number;
  /** Train on the first `limit` training images; undefined = all of them. */
  limit: number | undefined;
  /** Test images in the confusion matrix (the first ones of the test split). */
  testSubset: number;
  /** Pause by itself once this many steps are done (per run when comparing); 0 = never. */
  stopAfter: number;
  /** Start training as soon as the data is loaded. */
  autostart: boolean;
  seed: number;
  /**
   * How the training step's matrix products are chosen (URL `tune`): 'cached' (default) times
   * on this device those the browser has no choice stored for, 'full' all of them, 'off' none.
   */
  tune: TuneMode;
  /**
   * Storage of what the convolutions' products read (im2col matrices or padded x; URL
   * `precision`): 'f32' (default) or 'f16'.
   */
  precision: Precision;
}

/** The settings a form or URL can hold, by parameter name. */
export const OPTION_NAMES = [
  'dataset',
  'model',
  'features',
  'kernel',
  'stride',
  'padding',
  'activation',
  'pool',
  'dense',
  'width',
  'blocks',
  'skip',
  'bn',
  'dim',
  'depth',
  'heads',
  'patch',
  'compare',
  'optimizer',
  'lr',
  'batch',
  'limit',
  'test',
  'steps',
  'autostart',
  'seed',
  'tune',
  'precision',
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

/** A switch written 1 (on) or 0 (off), as in the URL and the form's on/off selects. */
function flag(p: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = p.get(name);
  if (raw === null || raw === '') return fallback;
  if (raw === '1' || raw === '0') return raw === '1';
  return fail(name, `expected 1 (on) or 0 (off), got '${raw}'`);
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

/**
 * The default CNN on a software adapter. SwiftShader (Chrome without a usable GPU) runs the
 * course's reference CNN (32,64 / 1024, batch 64) at a few steps a minute; this one keeps its
 * shape (two 5x5 convs, two pools, two dense layers) at a size that trains visibly in seconds.
 * Only sizes the URL leaves out take these values.
 */
export const SOFTWARE_DEFAULTS = { features: '8,16', dense: '128', batch: '32' } as const;

/** `p` with the software defaults for the sizes it leaves out; undefined when nothing changes. */
export function withSoftwareDefaults(p: URLSearchParams): URLSearchParams | undefined {
  if ((p.get('model') ?? 'cnn') !== 'cnn') return undefined;
  const missing = Object.entries(SOFTWARE_DEFAULTS).filter(([name]) => !p.get(name)?.trim());
  if (missing.length === 0) return undefined;
  const sized = new URLSearchParams(p);
  for (const [name, value] of missing) sized.set(name, value);
  return sized;
}

/** Reads every setting from URL parameters (or a form's); throws naming a bad one. */
export function parseOptions(p: URLSearchParams): DemoOptions {
  const ref = referenceKnobs();
  const lrRaw = p.get('lr');
  const lr = lrRaw === null || lrRaw === '' ? defaultOptimizer().lr : Number(lrRaw);
  if (!Number.isFinite(lr) || lr <= 0) fail('lr', `expected a number > 0, got '${lrRaw}'`);
  const limit = whole(p, 'limit', 0, 0);
  const model = choice(p, 'model', MODEL_KINDS, 'cnn');
  const compare = choice(p, 'compare', COMPARE_KINDS, 'none');
  if (compare !== 'none' && model !== 'resnet')
    fail('compare', `compares resnet variants, so it needs model=resnet (got model=${model})`);
  const steps = whole(p, 'steps', 0, 0);
  return {
    dataset: choice(p, 'dataset', DATASET_NAMES, 'mnist'),
    model,
    resnet: {
      width: whole(p, 'width', RESNET_DEFAULTS.width),
      blocks: whole(p, 'blocks', RESNET_DEFAULTS.blocks),
      skip: flag(p, 'skip', RESNET_DEFAULTS.skip),
      batchNorm: flag(p, 'bn', RESNET_DEFAULTS.batchNorm),
    },
    vit: {
      width: whole(p, 'dim', VIT_DEFAULTS.width),
      blocks: whole(p, 'depth', VIT_DEFAULTS.blocks),
      heads: whole(p, 'heads', VIT_DEFAULTS.heads),
      patch: whole(p, 'patch', VIT_DEFAULTS.patch),
    },
    compare,
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
    // A comparison's runs each need an end, so 0 (never) becomes COMPARE_STEPS there.
    stopAfter: compare !== 'none' && steps === 0 ? COMPARE_STEPS : steps,
    autostart: p.get('autostart') === '1' || p.get('autostart') === 'true',
    seed: whole(p, 'seed', 1, 0),
    tune: choice(p, 'tune', TUNE_MODES, 'cached'),
    precision: choice(p, 'precision', PRECISIONS, 'f32'),
  };
}

/** The settings as parameters (the inverse of parseOptions); `limit` absent means all. */
export function optionsToParams(o: DemoOptions): URLSearchParams {
  const k = o.knobs;
  const r = o.resnet;
  const p = new URLSearchParams({
    dataset: o.dataset,
    model: o.model,
    features: k.features.join(','),
    kernel: String(k.kernel),
    stride: String(k.stride),
    padding: String(k.padding),
    activation: k.activation,
    pool: k.pool,
    dense: String(k.dense),
    width: String(r.width),
    blocks: String(r.blocks),
    skip: r.skip ? '1' : '0',
    bn: r.batchNorm ? '1' : '0',
    dim: String(o.vit.width),
    depth: String(o.vit.blocks),
    heads: String(o.vit.heads),
    patch: String(o.vit.patch),
    compare: o.compare,
    optimizer: o.optimizer,
    lr: String(o.lr),
    batch: String(o.batch),
    test: String(o.testSubset),
    steps: String(o.stopAfter),
    seed: String(o.seed),
    tune: o.tune,
    precision: o.precision,
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
    model: modelOf(o),
    optimizer: { ...defaultOptimizer(o.optimizer), lr: o.lr },
    batchSize: o.batch,
    seed: o.seed,
    dataset: o.dataset,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.precision === 'f16' ? { precision: o.precision } : {}),
  };
}

function modelOf(o: DemoOptions): TrainConfig['model'] {
  if (o.model === 'resnet') return resnetModel(o.resnet);
  if (o.model === 'vit') return vitModel(o.vit);
  return cnnFromKnobs(o.knobs);
}

/** One run of the page: its label (a chart legend) and its settings. */
export interface PlannedRun {
  label: string;
  options: DemoOptions;
}

/**
 * The runs the settings ask for: one, or for a comparison the chosen resnet with the switch on,
 * then off. Seed, data, optimizer and steps are shared, so only the switch differs.
 */
export function plannedRuns(o: DemoOptions): PlannedRun[] {
  if (o.compare === 'none') return [{ label: o.model, options: o }];
  const field = o.compare === 'skip' ? 'skip' : 'batchNorm';
  const what = o.compare === 'skip' ? 'skip connections' : 'batch norm';
  return [true, false].map((on) => ({
    label: `${on ? 'with' : 'without'} ${what}`,
    options: { ...o, resnet: { ...o.resnet, [field]: on } },
  }));
}

/** The knobs of a model that looks like the resnet preset (checked by rebuilding it later). */
function resnetKnobsOf(config: TrainConfig): Required<ResnetKnobs> | undefined {
  const layers = config.model.layers;
  const conv1 = layers.find((l) => l.name === 'conv1');
  if (conv1?.type !== 'conv2d') return undefined;
  const blocks = layers.filter((l) => /^layer1\.\d+\.conv1$/.test(l.name ?? '')).length;
  const skip = layers.some((l) => l.type === 'add');
  const batchNorm = layers.some((l) => l.type === 'batchNorm');
  return { width: conv1.features, blocks, skip, batchNorm };
}

/** The knobs of a model that looks like the vit preset (checked by rebuilding it later). */
function vitKnobsOf(
  config: TrainConfig,
): Required<Omit<VitKnobs, 'hidden' | 'dropout'>> | undefined {
  const layers = config.model.layers;
  const patch = layers.find((l) => l.name === 'patch');
  const block = layers.find((l) => l.type === 'transformerBlock');
  if (patch?.type !== 'patchEmbedding' || block?.type !== 'transformerBlock') return undefined;
  const blocks = layers.filter((l) => l.type === 'transformerBlock').length;
  return { width: patch.features, blocks, heads: block.heads, patch: patch.patch };
}

/**
 * The settings that rebuild `config` (e.g. one read from a checkpoint), or undefined when its
 * model is neither the reference template with knobs turned nor the resnet preset (a CLI config
 * with other layers). The result is one run, never a comparison.
 */
export function optionsFromConfig(config: TrainConfig, base: DemoOptions): DemoOptions | undefined {
  const resnet = resnetKnobsOf(config);
  const vit = resnet ? undefined : vitKnobsOf(config);
  const knobs = (resnet ?? vit) ? base.knobs : cnnKnobsOf(config.model);
  if (!knobs) return undefined;
  const options: DemoOptions = {
    ...base,
    dataset: config.dataset,
    model: resnet ? 'resnet' : vit ? 'vit' : 'cnn',
    knobs,
    resnet: resnet ?? base.resnet,
    vit: vit ?? base.vit,
    compare: 'none',
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

/** The drawing pad's heading: what the dataset's images show. */
export function padTitle(dataset: DatasetName): string {
  return dataset === 'fashion' ? 'Draw a piece of clothing' : 'Draw a digit';
}
