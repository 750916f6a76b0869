/**
 * Training configuration: the course's reference CNN, the knobs students turn, and the defaults
 * a run starts from. The layer list itself (fields, names and inputs, shape inference) is
 * ./layers.ts, re-exported here. Pure TypeScript.
 */
import {
  resolveOptimizerConfig,
  type Activation,
  type AxisPadding,
  type OptimizerConfig,
  type OptimizerKind,
  type Precision,
} from '../core';
import { fail } from './fields';
import { validateModel, type LayerSpec, type ModelConfig } from './layers';

export * from './layers';
export * from './fields';
export type { Activation };
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
  /**
   * Mixed precision: 'f16' stores what each convolution's products read of its input (its im2col
   * matrix, or its padded x on the implicit path) in half precision (needs the adapter's
   * `shader-f16`; sums stay f32); absent or 'f32', everything f32 (the reference).
   */
  precision?: Precision;
}

export type { Precision };
/** A run's storage precisions (TrainConfig.precision). */
export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];
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

export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'fashion'];
type ConvSpec = Extract<LayerSpec, { type: 'conv2d' }>;
type PoolSpec = Extract<LayerSpec, { type: 'maxPool' | 'avgPool' }>;
type DenseSpec = Extract<LayerSpec, { type: 'dense' }>;

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

/**
 * `kind` with lr 1e-3 and torch.optim's defaults for its other hyper-parameters, except
 * weightDecay: its default depends on the kind (AdamW 0.01, else 0), so it stays absent and a
 * kind chosen later (--optimizer adamw, a config file's kind) still gets its own. Schedule,
 * warm-up, clipping and decayBiasAndNorm stay absent too (off), so a saved config lists only what
 * was asked for.
 */
export function defaultOptimizer(kind: OptimizerKind = 'adam'): OptimizerConfig {
  const c = resolveOptimizerConfig({ kind, lr: 1e-3 });
  const { lr, beta1, beta2, eps, momentum, alpha, nesterov } = c;
  return { kind, lr, beta1, beta2, eps, momentum, alpha, nesterov };
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

/**
 * The knobs of a model shaped like the reference CNN (two conv2d layers, a pooling layer, a hidden
 * dense layer), read from its first conv and pool; undefined for any other model. It does not
 * check that applying them rebuilds the model (cnnFromKnobs does that).
 */
export function cnnKnobsOf(m: ModelConfig): Required<CnnKnobs> | undefined {
  const convs = m.layers.filter((l): l is ConvSpec => l.type === 'conv2d');
  const pool = m.layers.find((l): l is PoolSpec => l.type === 'maxPool' || l.type === 'avgPool');
  const dense = m.layers.find((l): l is DenseSpec => l.type === 'dense');
  const [c1, c2] = convs;
  if (!c1 || !c2 || !pool || !dense) return undefined;
  return {
    features: [c1.features, c2.features],
    kernel: c1.kernel,
    stride: c1.stride,
    padding: c1.padding,
    activation: c1.activation,
    pool: pool.type === 'avgPool' ? 'avg' : 'max',
    dense: dense.units,
  };
}

/** The reference CNN with some knobs turned; validated. */
export function cnnFromKnobs(k: CnnKnobs): ModelConfig {
  const m = applyKnobs(referenceCnn(), k);
  validateModel(m);
  return m;
}
