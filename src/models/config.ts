/**
 * Model and training configuration: the course's reference CNN, the knobs students turn, a strict
 * reader for JSON config files, and shape inference through the layer list. Pure TypeScript.
 *
 * Shapes are per sample: [C, H, W] before flattening, [D] after. Conv and pool output sizes are
 * the kernels' rules (src/kernels/geometry.ts: convGeometry per axis, torch's floor rule for a
 * number, TensorFlow's 'same'; poolOutSize in floor mode); in JSON the pool stride defaults to K.
 * A dense layer on a [C, H, W] input flattens it first (C-major, the same as an explicit flatten).
 * Errors name the key path, as in a config file: "model.layers[2].kernel: ...".
 */
import {
  ShadergradError,
  activationCode,
  convGeometry,
  poolOutSize,
  resolveOptimizerConfig,
  type Activation,
  type AxisPadding,
  type OptimizerConfig,
  type OptimizerKind,
  type ResolvedOptimizerConfig,
} from '../core';

export type { Activation };
export type LayerSpec =
  | {
      type: 'conv2d';
      features: number;
      kernel: number;
      stride: number;
      /** One padding for both axes (the kernel is square too): 'same', 'valid' or a number. */
      padding: AxisPadding;
      activation: Activation;
    }
  | { type: 'maxPool' | 'avgPool'; kernel: number; stride: number }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: Activation }
  | { type: 'dropout'; rate: number };
export type LayerType = LayerSpec['type'];
export type LossKind = 'softmaxCrossEntropy' | 'mse';
export interface ModelInput {
  channels: number;
  height: number;
  width: number;
}
export interface ModelConfig {
  input: ModelInput;
  classes: number;
  layers: LayerSpec[];
  loss: LossKind;
}
export type DatasetName = 'mnist' | 'fashion';
export interface TrainConfig {
  model: ModelConfig;
  optimizer: OptimizerConfig;
  batchSize: number;
  epochs: number;
  /** Seeds weight init and the epoch shuffles; 0 ..= 2^32 - 1. */
  seed: number;
  dataset: DatasetName;
  /** Train on the first `limit` training samples only. */
  limit?: number;
  /**
   * Training steps between in-memory snapshots (weights, optimizer state, data position), from
   * which a run resumes after a device loss losing at most that many steps; 0 = none.
   */
  snapshotEvery: number;
  /** Training steps between checkpoint files of the CLI; 0 or absent = only at epoch ends. */
  checkpointEvery?: number;
}
/**
 * The "architecture knobs" the course varies, applied to the reference template (or any layer
 * list, see applyKnobs): features are per conv layer in order; kernel, stride, padding to every
 * conv; activation to every conv and hidden dense layer (never the output layer); pool to every
 * pooling layer; dense is the width of every hidden dense layer.
 */
export interface CnnKnobs {
  features?: [number, number];
  kernel?: number;
  stride?: number;
  padding?: AxisPadding;
  activation?: Activation;
  pool?: 'max' | 'avg';
  dense?: number;
}

export const ACTIVATIONS = Object.keys(activationCode) as Activation[];
export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'fashion'];
type ConvSpec = Extract<LayerSpec, { type: 'conv2d' }>;
type PoolSpec = Extract<LayerSpec, { type: 'maxPool' | 'avgPool' }>;
type DenseSpec = Extract<LayerSpec, { type: 'dense' }>;
export const LOSSES: readonly LossKind[] = ['softmaxCrossEntropy', 'mse'];

// ---- The reference model and the knobs

/** The course's settings of every knob. */
export function referenceKnobs(): Required<CnnKnobs> {
  return {
    features: [32, 64],
    kernel: 5,
    stride: 1,
    padding: 'same',
    activation: 'relu',
    pool: 'max',
    dense: 1024,
  };
}

/**
 * The course's CNN: conv 5x5x32 'same' ReLU, max-pool 2, conv 5x5x64 'same' ReLU, max-pool 2,
 * flatten, dense 1024 ReLU, dense 10; softmax cross-entropy. It is the template below with
 * referenceKnobs() applied.
 */
export function referenceCnn(): ModelConfig {
  const act = 'none';
  const conv: LayerSpec = {
    type: 'conv2d',
    features: 1,
    kernel: 1,
    stride: 1,
    padding: 0,
    activation: act,
  };
  const pool: LayerSpec = { type: 'maxPool', kernel: 2, stride: 2 };
  const dense = (units: number): LayerSpec => ({ type: 'dense', units, activation: act });
  const layers = [conv, pool, conv, pool, { type: 'flatten' } as const, dense(1), dense(10)];
  const input = { channels: 1, height: 28, width: 28 };
  return applyKnobs({ input, classes: 10, layers, loss: 'softmaxCrossEntropy' }, referenceKnobs());
}

/** `kind` with lr 1e-3 and torch.optim's defaults for every other field. */
export function defaultOptimizer(kind: OptimizerKind = 'adam'): ResolvedOptimizerConfig {
  return resolveOptimizerConfig({ kind, lr: 1e-3 });
}

/** Reference CNN, Adam 1e-3, batch 64, 1 epoch, seed 1, MNIST, a snapshot every 100 steps. */
export function defaultTrainConfig(): TrainConfig {
  return {
    model: referenceCnn(),
    optimizer: defaultOptimizer(),
    batchSize: 64,
    epochs: 1,
    seed: 1,
    dataset: 'mnist',
    snapshotEvery: 100,
    checkpointEvery: 0,
  };
}

/**
 * A copy of `m` with the given knobs applied (see CnnKnobs). A knob that matches no layer is an
 * error, so a flag never silently does nothing; `label` names the knob in messages (e.g. '--kernel').
 */
export function applyKnobs(
  m: ModelConfig,
  k: CnnKnobs,
  label = (knob: keyof CnnKnobs): string => knob,
): ModelConfig {
  const layers = m.layers.map((l) => ({ ...l }));
  const convs = layers.filter((l): l is ConvSpec => l.type === 'conv2d');
  const pools = layers.filter((l): l is PoolSpec => l.type === 'maxPool' || l.type === 'avgPool');
  const hidden = layers.filter(
    (l, i): l is DenseSpec => l.type === 'dense' && i < layers.length - 1,
  );
  const need = (knob: keyof CnnKnobs, count: number, what: string): boolean => {
    if (count === 0 && k[knob] !== undefined)
      fail(label(knob), `the model has no ${what} to change`);
    return k[knob] !== undefined;
  };
  const f = k.features;
  if (need('features', convs.length, 'conv2d layer') && f && f.length !== convs.length) {
    fail(label('features'), `${f.length} values for ${convs.length} conv2d layers`);
  }
  convs.forEach((c, i) => {
    c.features = f?.[i] ?? c.features;
    c.kernel = k.kernel ?? c.kernel;
    c.stride = k.stride ?? c.stride;
    c.padding = k.padding ?? c.padding;
  });
  for (const knob of ['kernel', 'stride', 'padding'] as const)
    need(knob, convs.length, 'conv2d layer');
  if (need('activation', convs.length + hidden.length, 'conv2d or hidden dense layer')) {
    for (const l of [...convs, ...hidden]) l.activation = k.activation ?? l.activation;
  }
  if (need('pool', pools.length, 'pooling layer'))
    for (const p of pools) p.type = k.pool === 'avg' ? 'avgPool' : 'maxPool';
  if (need('dense', hidden.length, 'hidden dense layer'))
    for (const d of hidden) d.units = k.dense ?? d.units;
  return { ...m, input: { ...m.input }, layers };
}

/** The reference CNN with some knobs turned; validated. */
export function cnnFromKnobs(k: CnnKnobs): ModelConfig {
  const m = applyKnobs(referenceCnn(), k);
  validateModel(m);
  return m;
}

// ---- Shape inference

export function fail(path: string, problem: string): never {
  throw new ShadergradError(`${path}: ${problem}`);
}

export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // Cyclic, BigInt or nested past the stack: from a library caller, never from JSON text.
    s = Array.isArray(v) ? 'a list' : typeof v;
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** A check for finite numbers passing `test`; `expected` describes them for the message. */
export function num(test: (n: number) => boolean, expected: string) {
  return (v: unknown, path: string): number =>
    typeof v === 'number' && Number.isFinite(v) && test(v)
      ? v
      : fail(path, `expected ${expected}, got ${show(v)}`);
}
export const whole = (min: number) =>
  num((n) => Number.isInteger(n) && n >= min, `a whole number >= ${min}`);
export const size = whole(1);
export const fraction = num((n) => n >= 0 && n < 1, 'a number in [0, 1)');

export function oneOf<T extends string>(options: readonly T[]) {
  return (v: unknown, path: string): T => {
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    return fail(path, `expected one of ${options.join(', ')}, got ${show(v)}`);
  };
}

function padding(v: unknown, path: string): AxisPadding {
  if (v === 'same' || v === 'valid' || (typeof v === 'number' && Number.isInteger(v) && v >= 0))
    return v;
  return fail(path, `expected 'same', 'valid' or a whole number >= 0, got ${show(v)}`);
}

const activation = oneOf(ACTIVATIONS);

/** Each layer type's fields and their checks. */
export const LAYER_FIELDS: Record<
  LayerType,
  Record<string, (v: unknown, path: string) => unknown>
> = {
  conv2d: { features: size, kernel: size, stride: size, padding, activation },
  maxPool: { kernel: size, stride: size },
  avgPool: { kernel: size, stride: size },
  flatten: {},
  dense: { units: size, activation },
  dropout: { rate: fraction },
};
export const LAYER_TYPES = Object.keys(LAYER_FIELDS) as LayerType[];

/** Checks one layer's fields (configs built in code skip the JSON reader) and infers its output. */
function inferLayer(
  l: LayerSpec,
  shape: number[],
  path: string,
): { shape: number[]; params: number } {
  const type = oneOf(LAYER_TYPES)(l.type, `${path}.type`);
  const fields = l as unknown as Record<string, unknown>;
  for (const [key, check] of Object.entries(LAYER_FIELDS[type]))
    check(fields[key], `${path}.${key}`);
  const flat = shape.reduce((a, b) => a * b, 1);
  const [C = 0, H = 0, W = 0] = shape;
  if (shape.length !== 3 && (type === 'conv2d' || type === 'maxPool' || type === 'avgPool')) {
    fail(
      `${path} (${type})`,
      `needs a [C, H, W] input, not the flat [${flat}] (put it before the flatten)`,
    );
  }
  switch (l.type) {
    case 'conv2d': {
      const { features: F, kernel: K, stride: s, padding: pad } = l;
      const [gh, gw] = [convGeometry(H, K, s, pad), convGeometry(W, K, s, pad)];
      const [ph, pw] = [H + gh.padBefore + gh.padAfter, W + gw.padBefore + gw.padAfter];
      if (K > ph || K > pw) {
        fail(
          `${path} (conv2d)`,
          `kernel ${K} is larger than the padded input ${ph}x${pw} (padding ${pad})`,
        );
      }
      return { shape: [F, gh.out, gw.out], params: F * C * K * K + F };
    }
    case 'maxPool':
    case 'avgPool': {
      const { kernel: K, stride: s } = l;
      if (K > H || K > W)
        fail(`${path} (${type})`, `kernel ${K} leaves 0 pixels of the ${H}x${W} input`);
      return { shape: [C, poolOutSize(H, K, s), poolOutSize(W, K, s)], params: 0 };
    }
    case 'flatten':
      return { shape: [flat], params: 0 };
    case 'dense':
      return { shape: [l.units], params: flat * l.units + l.units };
    case 'dropout':
      return { shape, params: 0 };
    default:
      return l satisfies never;
  }
}

function inferShapes(m: ModelConfig): { shape: number[]; params: number }[] {
  const { channels, height, width } = m.input;
  const dims = { channels, height, width };
  let shape = Object.entries(dims).map(([key, n]) => size(n, `model.input.${key}`));
  if (m.layers.length === 0) fail('model.layers', 'expected a non-empty list of layers');
  return m.layers.map((l, i) => {
    const r = inferLayer(l, shape, `model.layers[${i}]`);
    shape = r.shape;
    return r;
  });
}

/** Per layer, the per-sample output shape: [C, H, W] or [D]. Throws on impossible shapes. */
export function layerOutputShapes(m: ModelConfig): number[][] {
  return inferShapes(m).map((r) => r.shape);
}

/** Per layer, its trainable parameter count (weights + biases). */
export function layerParamCounts(m: ModelConfig): number[] {
  return inferShapes(m).map((r) => r.params);
}

/** Throws a ShadergradError naming the layer if the model cannot run or misses `classes` outputs. */
export function validateModel(m: ModelConfig): void {
  inferShapes(m);
  size(m.classes, 'model.classes');
  oneOf(LOSSES)(m.loss, 'model.loss');
  const i = m.layers.length - 1;
  const last = m.layers[i];
  const at = `model.layers[${i}] (${last?.type})`;
  if (last?.type !== 'dense') fail(at, `the last layer must be dense with model.classes units`);
  if (last.units !== m.classes) fail(at, `${last.units} units, but model.classes = ${m.classes}`);
}

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** "conv2d features=32 kernel=5 ...": the type, then every field. */
function layerSummary(l: LayerSpec): string {
  const fields = Object.entries(l).filter(([key]) => key !== 'type');
  return [l.type, ...fields.map(([key, value]) => `${key}=${String(value)}`)].join(' ');
}

/** One line per layer with its output shape and parameter count, then the total (for the CLI). */
export function describeModel(m: ModelConfig): string {
  const inferred = inferShapes(m);
  const col = Math.max(...m.layers.map((l) => layerSummary(l).length));
  const row = (i: string, what: string, shape: number[], params: number): string =>
    `${i.padStart(3)}  ${what.padEnd(col)}  [${shape.join(', ')}]`.padEnd(col + 24) +
    (params > 0 ? `${grouped(params)} params` : '');
  const { channels, height, width } = m.input;
  const lines = [row('', 'input', [channels, height, width], 0).trimEnd()];
  m.layers.forEach((l, i) => {
    const { shape, params } = inferred[i] ?? { shape: [], params: 0 };
    lines.push(row(String(i), layerSummary(l), shape, params).trimEnd());
  });
  const total = inferred.reduce((a, r) => a + r.params, 0);
  return [...lines, `total ${grouped(total)} params, loss ${m.loss}`].join('\n');
}
