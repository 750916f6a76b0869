/**
 * A model as a list of layers, each reading the layer before it or, through `inputs`, any earlier
 * layers by name: a chain stays a plain list, and skip connections, branches and concatenation
 * are the same list with names. Field checks, name resolution and shape inference live here, so
 * the JSON reader, the CLI, the graph builder and the demo see one rule. Pure TypeScript.
 *
 * Shapes are per sample: [C, H, W] before flattening, [D] after. Conv and pool output sizes are
 * the kernels' rules (src/kernels/geometry.ts: convGeometry per axis, torch's floor rule for a
 * number, TensorFlow's 'same'; poolOutSize in floor mode). A dense layer on a [C, H, W] input
 * flattens it first (C-major, the same as an explicit flatten). Errors name the key path, as in a
 * config file: "model.layers[2].kernel: ...".
 */
import { fail, flag, fraction, num, oneOf, show, size } from './fields';
import {
  activationCode,
  convGeometry,
  poolOutSize,
  type Activation,
  type AxisPadding,
} from '../core';

/** Every layer may be named (its parameters are then `<name>.weight`, ...) and name its inputs. */
export interface LayerLinks {
  /** Unique; defaults to conv1, conv2, ... / fc1, ... / bn1, ... (by type), else `layers[i]`. */
  name?: string;
  /** Earlier layers' names ('input' is the model's input); default: the layer before. */
  inputs?: string[];
}
export type LayerSpec = LayerLinks &
  (
    | {
        type: 'conv2d';
        features: number;
        kernel: number;
        stride: number;
        /** One padding for both axes (the kernel is square too): 'same', 'valid' or a number. */
        padding: AxisPadding;
        activation: Activation;
        /** Learn a bias (default true); false before a batch norm. */
        bias?: boolean;
      }
    | { type: 'maxPool' | 'avgPool'; kernel: number; stride: number }
    | { type: 'flatten' }
    | { type: 'dense'; units: number; activation: Activation }
    | { type: 'dropout'; rate: number }
    | { type: 'batchNorm'; activation: Activation; eps?: number; momentum?: number }
    /** f(a + b): two inputs of one shape, or the second [C, 1, 1] against a [C, H, W] first. */
    | { type: 'add'; activation: Activation }
    /** Along the channels (torch.cat dim 1): two or more inputs, alike but for C. */
    | { type: 'concat' }
    /** AdaptiveAvgPool2d(1): [C, H, W] -> [C, 1, 1]. */
    | { type: 'globalAvgPool' }
    | { type: 'activation'; activation: Activation }
    // ---- transformers: per-sample token sequences [T, C]
    /** Non-overlapping patch x patch squares, each projected to `features`: [C, H, W] -> [S, F]. */
    | { type: 'patchEmbedding'; features: number; patch: number }
    /** A learned [T, C] table added to the tokens (`<name>.weight`). */
    | { type: 'positionEmbedding' }
    /** A pre-norm block: attention with `heads` heads (causal for a decoder), then an MLP. */
    | {
        type: 'transformerBlock';
        heads: number;
        hidden?: number;
        causal?: boolean;
        /** On the attention weights and both residual branches, in training (default 0). */
        dropout?: number;
      }
    /** torch.nn.LayerNorm over the last axis. */
    | { type: 'layerNorm'; eps?: number }
    /** The mean over the tokens: [T, C] -> [C] (a ViT's pooling instead of a class token). */
    | { type: 'tokenMean' }
  );
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

export const ACTIVATIONS = Object.keys(activationCode) as Activation[];
export const LOSSES: readonly LossKind[] = ['softmaxCrossEntropy', 'mse'];
/** The name `inputs` use for the model's input. */
export const MODEL_INPUT = 'input';

// ---- Field checks

function padding(v: unknown, path: string): AxisPadding {
  if (v === 'same' || v === 'valid' || (typeof v === 'number' && Number.isInteger(v) && v >= 0))
    return v;
  return fail(path, `expected 'same', 'valid' or a whole number >= 0, got ${show(v)}`);
}

/** Layer names: torchvision's style (`layer1.0.conv1`), at most 100 characters. */
function layerName(v: unknown, path: string): string {
  if (typeof v === 'string' && /^[A-Za-z_][\w.-]{0,99}$/.test(v) && v !== MODEL_INPUT) return v;
  return fail(
    path,
    `expected a name of letters, digits, '_', '.' or '-' starting with a letter (not '${MODEL_INPUT}'), got ${show(v)}`,
  );
}

function names(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64)
    return fail(path, `expected a list of 1 to 64 layer names, got ${show(v)}`);
  return v.map((n, i) =>
    typeof n === 'string' && n.length > 0 && n.length <= 100
      ? n
      : fail(`${path}[${i}]`, `expected a layer name, got ${show(n)}`),
  );
}

const activation = oneOf(ACTIVATIONS);
const positive = num((n) => n > 0 && n < 1, 'a number in (0, 1)');
const momentum = num((n) => n >= 0 && n <= 1, 'a number in [0, 1]');

/** Each layer type's fields and their checks (name and inputs are every layer's). */
export const LAYER_FIELDS: Record<
  LayerType,
  Record<string, (v: unknown, path: string) => unknown>
> = {
  conv2d: { features: size, kernel: size, stride: size, padding, activation, bias: flag },
  maxPool: { kernel: size, stride: size },
  avgPool: { kernel: size, stride: size },
  flatten: {},
  dense: { units: size, activation },
  dropout: { rate: fraction },
  batchNorm: { activation, eps: positive, momentum },
  add: { activation },
  concat: {},
  globalAvgPool: {},
  activation: { activation },
  patchEmbedding: { features: size, patch: size },
  positionEmbedding: {},
  transformerBlock: { heads: size, hidden: size, causal: flag, dropout: fraction },
  layerNorm: { eps: positive },
  tokenMean: {},
};
export const LAYER_TYPES = Object.keys(LAYER_FIELDS) as LayerType[];
/** Fields a layer may leave out, with no default written into it. */
export const OPTIONAL_LAYER_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'inputs',
  'bias',
  'eps',
  'momentum',
  'hidden',
  'causal',
  'dropout',
]);
export const LINK_FIELDS = { name: layerName, inputs: names };

// ---- Names and inputs

/** How many inputs each type reads: [min, max]. */
function inputCount(type: LayerType): [number, number] {
  if (type === 'add') return [2, 2];
  if (type === 'concat') return [2, 64];
  return [1, 1];
}

/** Default names by type, counted per type: conv1, conv2, ..., fc1, ..., bn1, ... */
const NAME_PREFIX: Partial<Record<LayerType, string>> = {
  conv2d: 'conv',
  dense: 'fc',
  batchNorm: 'bn',
  transformerBlock: 'blocks.',
  layerNorm: 'ln',
};

/** A layer with its name and inputs resolved: inputs are layer indices, -1 the model input. */
export interface ResolvedLayer {
  readonly spec: LayerSpec;
  readonly name: string;
  readonly inputs: readonly number[];
  readonly path: string;
}

/**
 * Names every layer and turns `inputs` into indices. A name must be unique and an input must
 * name an earlier layer (so the graph has no cycles by construction).
 */
export function resolveLayers(m: ModelConfig): ResolvedLayer[] {
  if (!Array.isArray(m.layers) || m.layers.length === 0)
    fail('model.layers', 'expected a non-empty list of layers');
  const byName = new Map<string, number>([[MODEL_INPUT, -1]]);
  const counts = new Map<string, number>();
  return m.layers.map((spec, i) => {
    const path = `model.layers[${i}]`;
    const prefix = NAME_PREFIX[spec.type];
    const count = (counts.get(spec.type) ?? 0) + 1;
    counts.set(spec.type, count);
    const name =
      spec.name !== undefined
        ? layerName(spec.name, `${path}.name`)
        : prefix
          ? `${prefix}${spec.type === 'transformerBlock' ? count - 1 : count}` // ModuleList: blocks.0
          : `layers[${i}]`;
    if (byName.has(name))
      fail(`${path}.name`, `'${name}' names another layer already; names must be unique`);
    const inputs = (
      spec.inputs === undefined
        ? [i === 0 ? MODEL_INPUT : '']
        : names(spec.inputs, `${path}.inputs`)
    ).map((n, k) => {
      if (n === '') return i - 1;
      const at = byName.get(n);
      if (at === undefined)
        fail(
          `${path}.inputs[${k}]`,
          `no earlier layer is named '${n}' (inputs name layers above this one, or '${MODEL_INPUT}')`,
        );
      return at;
    });
    const [min, max] = inputCount(spec.type);
    if (inputs.length < min || inputs.length > max)
      fail(
        `${path}.inputs`,
        `a ${spec.type} layer reads ${min === max ? min : `${min} or more`} input${max > 1 ? 's' : ''}, got ${inputs.length}`,
      );
    byName.set(name, i);
    return { spec, name, inputs, path };
  });
}

/** True when some layer names its inputs: the model is a graph, not a plain chain. */
export function isGraphModel(m: ModelConfig): boolean {
  return m.layers.some((l) => l.inputs !== undefined);
}

// ---- Shape inference

interface Inferred {
  shape: number[];
  params: number;
}

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function checkFields(l: LayerSpec, path: string): LayerType {
  const type = oneOf(LAYER_TYPES)(l.type, `${path}.type`);
  const fields = l as unknown as Record<string, unknown>;
  for (const [key, check] of Object.entries(LAYER_FIELDS[type])) {
    if (fields[key] === undefined && OPTIONAL_LAYER_FIELDS.has(key)) continue;
    check(fields[key], `${path}.${key}`);
  }
  return type;
}

function needImage(shape: readonly number[], at: string): void {
  if (shape.length !== 3)
    fail(
      at,
      `needs a [C, H, W] input, not the flat [${product(shape)}] (put it before the flatten)`,
    );
}

/** Checks one layer's fields (configs built in code skip the JSON reader) and infers its output. */
function inferLayer(l: LayerSpec, inputs: readonly number[][], path: string): Inferred {
  const type = checkFields(l, path);
  const at = `${path} (${type})`;
  const x = inputs[0] ?? [];
  const [C = 0, H = 0, W = 0] = x;
  const imageOnly = ['conv2d', 'maxPool', 'avgPool', 'globalAvgPool', 'patchEmbedding'];
  if (imageOnly.includes(type)) needImage(x, at);
  const sequenceOnly = ['positionEmbedding', 'transformerBlock', 'tokenMean'];
  if (sequenceOnly.includes(type)) needSequence(x, at);
  switch (l.type) {
    case 'conv2d': {
      const { features: F, kernel: K, stride: s, padding: pad } = l;
      const [gh, gw] = [convGeometry(H, K, s, pad), convGeometry(W, K, s, pad)];
      const [ph, pw] = [H + gh.padBefore + gh.padAfter, W + gw.padBefore + gw.padAfter];
      if (K > ph || K > pw)
        fail(at, `kernel ${K} is larger than the padded input ${ph}x${pw} (padding ${pad})`);
      return { shape: [F, gh.out, gw.out], params: F * C * K * K + (l.bias === false ? 0 : F) };
    }
    case 'maxPool':
    case 'avgPool': {
      const { kernel: K, stride: s } = l;
      if (K > H || K > W) fail(at, `kernel ${K} leaves 0 pixels of the ${H}x${W} input`);
      return { shape: [C, poolOutSize(H, K, s), poolOutSize(W, K, s)], params: 0 };
    }
    case 'flatten':
      return { shape: [product(x)], params: 0 };
    case 'dense':
      return { shape: [...x.slice(0, -1), l.units], params: (x.at(-1) ?? 0) * l.units + l.units };
    case 'dropout':
    case 'activation':
      return { shape: [...x], params: 0 };
    case 'batchNorm':
      if (x.length !== 3 && x.length !== 1)
        fail(at, `needs a [C, H, W] or [C] input, got [${x.join(', ')}]`);
      return { shape: [...x], params: 2 * C };
    case 'add':
      return { shape: addShape(x, inputs[1] ?? [], at), params: 0 };
    case 'concat':
      return { shape: concatShape(inputs, at), params: 0 };
    case 'globalAvgPool':
      return { shape: [C, 1, 1], params: 0 };
    default:
      return inferSequenceLayer(l, x, at);
  }
}

/** The transformer layers: x is [C, H, W] for a patch embedding, else [T, C] tokens. */
function inferSequenceLayer(l: LayerSpec, x: readonly number[], at: string): Inferred {
  const [T = 0, C = 0] = x;
  switch (l.type) {
    case 'patchEmbedding': {
      const { features: F, patch: P } = l;
      const [h, w] = [Math.floor((x[1] ?? 0) / P), Math.floor((x[2] ?? 0) / P)];
      if (h < 1 || w < 1) fail(at, `patch ${P} is larger than the ${x[1]}x${x[2]} input`);
      return { shape: [h * w, F], params: F * (x[0] ?? 0) * P * P + F };
    }
    case 'positionEmbedding':
      return { shape: [T, C], params: T * C };
    case 'transformerBlock': {
      if (C % l.heads !== 0) fail(at, `${l.heads} heads do not divide the width ${C}`);
      const hidden = l.hidden ?? 4 * C;
      const norms = 2 * 2 * C;
      return { shape: [T, C], params: 4 * (C * C + C) + 2 * C * hidden + hidden + C + norms };
    }
    case 'layerNorm':
      if (x.length === 3)
        fail(at, `normalizes the last axis of [T, C] or [D], got [${x.join(', ')}]`);
      return { shape: [...x], params: 2 * (x.at(-1) ?? 0) };
    case 'tokenMean':
      return { shape: [C], params: 0 };
    default:
      return fail(at, `unknown layer type`);
  }
}

function needSequence(shape: readonly number[], at: string): void {
  if (shape.length !== 2)
    fail(at, `needs a [T, C] token sequence (after a patchEmbedding), got [${shape.join(', ')}]`);
}

function addShape(a: readonly number[], b: readonly number[], at: string): number[] {
  const same = a.length === b.length && a.every((d, i) => d === b[i]);
  const broadcast = a.length === 3 && b.length === 3 && b[0] === a[0] && b[1] === 1 && b[2] === 1;
  if (!same && !broadcast)
    fail(
      at,
      `cannot add [${b.join(', ')}] to [${a.join(', ')}]: expected the same shape, or [C, 1, 1] as the second input`,
    );
  return [...a];
}

function concatShape(inputs: readonly number[][], at: string): number[] {
  const first = inputs[0] ?? [];
  for (const s of inputs) {
    const fits = s.length === first.length && s.every((d, i) => i === 0 || d === first[i]);
    if (!fits || s.length === 0)
      fail(
        at,
        `cannot concatenate [${s.join(', ')}] with [${first.join(', ')}]: they must agree in all but the channels`,
      );
  }
  return [inputs.reduce((a, s) => a + (s[0] ?? 0), 0), ...first.slice(1)];
}

function inferShapes(m: ModelConfig): Inferred[] {
  const { channels, height, width } = m.input;
  const dims = { channels, height, width };
  const input = Object.entries(dims).map(([key, n]) => size(n, `model.input.${key}`));
  const resolved = resolveLayers(m);
  const out: Inferred[] = [];
  for (const r of resolved) {
    let shapes = r.inputs.map((i) => (i < 0 ? input : (out[i]?.shape ?? [])));
    // a dense layer flattens an image input first, as an explicit flatten would; on [T, C]
    // tokens it maps each token's C features
    if (r.spec.type === 'dense') shapes = shapes.map((s) => (s.length === 2 ? s : [product(s)]));
    out.push(inferLayer(r.spec, shapes, r.path));
  }
  return out;
}

/** Per layer, the per-sample output shape: [C, H, W] or [D]. Throws on impossible shapes. */
export function layerOutputShapes(m: ModelConfig): number[][] {
  return inferShapes(m).map((r) => r.shape);
}

/** Per layer, its trainable parameter count (weights + biases; not running statistics). */
export function layerParamCounts(m: ModelConfig): number[] {
  return inferShapes(m).map((r) => r.params);
}

/**
 * Throws a ShadergradError naming the layer if the model cannot run, misses `classes` outputs,
 * or has a layer whose output nothing reads.
 */
export function validateModel(m: ModelConfig): void {
  inferShapes(m);
  size(m.classes, 'model.classes');
  oneOf(LOSSES)(m.loss, 'model.loss');
  const i = m.layers.length - 1;
  const last = m.layers[i];
  const at = `model.layers[${i}] (${last?.type})`;
  if (last?.type !== 'dense') fail(at, `the last layer must be dense with model.classes units`);
  if (last.units !== m.classes) fail(at, `${last.units} units, but model.classes = ${m.classes}`);
  const out = inferShapes(m).at(-1)?.shape ?? [];
  if (out.length !== 1)
    fail(
      at,
      `outputs [${out.join(', ')}] per sample, expected [${m.classes}] (pool tokens with tokenMean first)`,
    );
  const resolved = resolveLayers(m);
  const read = new Set(resolved.flatMap((r) => r.inputs));
  const unused = resolved.find((_, k) => k < resolved.length - 1 && !read.has(k));
  if (unused)
    fail(
      `${unused.path} (${unused.spec.type})`,
      `'${unused.name}' feeds no layer; its output is never used`,
    );
}

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** "conv2d features=32 kernel=5 ...": the type, then every field but the links. */
function layerSummary(l: LayerSpec): string {
  const fields = Object.entries(l).filter(
    ([key]) => key !== 'type' && key !== 'name' && key !== 'inputs',
  );
  return [l.type, ...fields.map(([key, value]) => `${key}=${String(value)}`)].join(' ');
}

/**
 * One line per layer with its output shape and parameter count, then the total (for the CLI); a
 * graph model also shows each layer's name and, where it is not the layer before, its inputs.
 */
export function describeModel(m: ModelConfig): string {
  const inferred = inferShapes(m);
  const resolved = resolveLayers(m);
  const graph = isGraphModel(m);
  const what = (r: ResolvedLayer, i: number): string => {
    if (!graph) return layerSummary(r.spec);
    const chained = r.inputs.length === 1 && r.inputs[0] === i - 1;
    const from = chained
      ? ''
      : ` <- ${r.inputs.map((k) => resolved[k]?.name ?? MODEL_INPUT).join(', ')}`;
    return `${r.name}: ${layerSummary(r.spec)}${from}`;
  };
  const texts = resolved.map(what);
  const col = Math.max(...texts.map((t) => t.length));
  const row = (i: string, text: string, shape: number[], params: number): string =>
    `${i.padStart(3)}  ${text.padEnd(col)}  [${shape.join(', ')}]`.padEnd(col + 24) +
    (params > 0 ? `${grouped(params)} params` : '');
  const { channels, height, width } = m.input;
  const lines = [row('', 'input', [channels, height, width], 0).trimEnd()];
  texts.forEach((t, i) => {
    const { shape, params } = inferred[i] ?? { shape: [], params: 0 };
    lines.push(row(String(i), t, shape, params).trimEnd());
  });
  const total = inferred.reduce((a, r) => a + r.params, 0);
  return [...lines, `total ${grouped(total)} params, loss ${m.loss}`].join('\n');
}
