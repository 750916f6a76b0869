/**
 * A shadergrad ModelConfig (a chain or a graph with named `inputs`, e.g. the ResNet preset)
 * written in jax-js as a JAX user writes it: a pure function of a parameter tree, channels-first
 * like shadergrad ([N, C, H, W]; conv kernels [O, C, KH, KW], dense weights [in, out]), torch's
 * state_dict names (`conv1.weight`, `bn1.running_mean`, ...). Node and browser alike.
 *
 * Batch norm runs in training mode as flax's BatchNorm does: the batch's mean and biased variance
 * over N, H and W (np.mean), y = (x - mean) / sqrt(var + eps) · weight + bias, and the running
 * statistics returned as a new state tree (JAX has no mutation), moved by `momentum` towards the
 * batch mean and the unbiased variance, as torch and shadergrad do.
 *
 * jax-js arrays are reference counted and every use consumes one reference: a layer output read
 * by k layers (a skip) is handed out k - 1 times as `.ref` and the last time as itself.
 */
import type * as JaxModule from '@jax-js/jax';
import type { Array as JaxArray } from '@jax-js/jax';
import {
  layerOutputShapes,
  resolveLayers,
  type Activation,
  type LayerSpec,
  type ModelConfig,
} from '../../src/models/config';

type Jax = typeof JaxModule;
// A `type` alias, not an interface: jax-js's JsTree typing needs one.
export type Params = { [name: string]: JaxArray };

/** One parameter or running statistic, as the graph's ParamSpec: torch's default init. */
export interface JaxParamSpec {
  name: string;
  shape: number[];
  init: 'uniform' | 'ones' | 'zeros';
  /** Inputs per output unit: uniform(+-1/sqrt(fanIn)). */
  fanIn: number;
  /** False for batch norm's running statistics (state, not updated by the optimizer). */
  trainable: boolean;
}

/** Batch norm's defaults, as torch's BatchNorm2d and shadergrad's graph. */
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Every parameter and running statistic of the model, in layer order. */
export function jaxParamSpecs(model: ModelConfig): JaxParamSpec[] {
  const shapes = layerOutputShapes(model);
  const { channels, height, width } = model.input;
  const specs: JaxParamSpec[] = [];
  const add = (name: string, shape: number[], init: JaxParamSpec['init'], fanIn = 1) =>
    specs.push({ name, shape, init, fanIn, trainable: !name.includes('.running_') });
  for (const r of resolveLayers(model)) {
    const from = r.inputs[0] ?? -1;
    const input = from < 0 ? [channels, height, width] : (shapes[from] ?? []);
    const c = input[0] ?? 0;
    const l = r.spec;
    if (l.type === 'conv2d') {
      const fanIn = l.kernel ** 2 * c;
      add(`${r.name}.weight`, [l.features, c, l.kernel, l.kernel], 'uniform', fanIn);
      if (l.bias !== false) add(`${r.name}.bias`, [l.features], 'uniform', fanIn);
    } else if (l.type === 'dense') {
      const fanIn = input.length === 2 ? (input[1] ?? 0) : product(input); // tokens: per token
      add(`${r.name}.weight`, [fanIn, l.units], 'uniform', fanIn);
      add(`${r.name}.bias`, [l.units], 'uniform', fanIn);
    } else if (l.type === 'patchEmbedding') {
      const fanIn = l.patch ** 2 * c;
      add(`${r.name}.weight`, [l.features, c, l.patch, l.patch], 'uniform', fanIn);
      add(`${r.name}.bias`, [l.features], 'uniform', fanIn);
    } else if (l.type === 'positionEmbedding') {
      add(`${r.name}.weight`, [...input], 'uniform', 1e4); // small, as torch's 0.02-std normal
    } else if (l.type === 'layerNorm') {
      addNorm(add, r.name, input.at(-1) ?? 0);
    } else if (l.type === 'transformerBlock') {
      blockSpecs(add, r.name, input[1] ?? 0, l.hidden ?? 4 * (input[1] ?? 0));
    } else if (l.type === 'batchNorm') {
      add(`${r.name}.weight`, [c], 'ones');
      add(`${r.name}.bias`, [c], 'zeros');
      add(`${r.name}.running_mean`, [c], 'zeros');
      add(`${r.name}.running_var`, [c], 'ones');
    }
  }
  return specs;
}

export type AddSpec = (
  name: string,
  shape: number[],
  init: JaxParamSpec['init'],
  fanIn?: number,
) => void;

export function addNorm(add: AddSpec, name: string, c: number): void {
  add(`${name}.weight`, [c], 'ones');
  add(`${name}.bias`, [c], 'zeros');
}

/** A transformer block's parameters, dense weights [in, out] as this peer keeps them. */
export function blockSpecs(add: AddSpec, name: string, c: number, hidden: number): void {
  const dense = (part: string, inputs: number, outputs: number) => {
    add(`${name}.${part}.weight`, [inputs, outputs], 'uniform', inputs);
    add(`${name}.${part}.bias`, [outputs], 'uniform', inputs);
  };
  addNorm(add, `${name}.ln1`, c);
  for (const part of ['query', 'key', 'value', 'proj']) dense(`attn.${part}`, c, c);
  addNorm(add, `${name}.ln2`, c);
  dense('mlp.fc1', c, hidden);
  dense('mlp.fc2', hidden, c);
}

function take(tree: Params, name: string): JaxArray {
  const a = tree[name];
  if (!a) throw new Error(`jax-js model: no parameter ${name}`);
  return a;
}

function activate(jax: Jax, a: Activation, x: JaxArray): JaxArray {
  switch (a) {
    case 'none':
      return x;
    case 'relu':
      return jax.nn.relu(x);
    case 'sigmoid':
      return jax.nn.sigmoid(x);
    case 'tanh':
      return jax.numpy.tanh(x);
    default:
      return a satisfies never;
  }
}

/** What one layer reads: its parameters (consumed), the running statistics, the new ones. */
export interface LayerContext {
  jax: Jax;
  param(part: string): JaxArray;
  state(part: string): JaxArray;
  setState(part: string, value: JaxArray): void;
}

/** Training-mode batch norm over [N, C, H, W] or [N, C]; writes the moved running statistics. */
function batchNorm(
  ctx: LayerContext,
  l: Extract<LayerSpec, { type: 'batchNorm' }>,
  x: JaxArray,
): JaxArray {
  const { lax, numpy: np } = ctx.jax;
  const image = x.ndim === 4;
  const axes = image ? [0, 2, 3] : [0];
  const perChannel = (a: JaxArray) => (image ? a.reshape([-1, 1, 1]) : a);
  const n = x.size / (x.shape[1] ?? 1);
  const mean = np.mean(x.ref, axes, { keepdims: true });
  const centered = x.sub(mean.ref);
  const variance = np.mean(np.square(centered.ref), axes, { keepdims: true });
  // running = (1 - m) running + m batch, with the variance made unbiased: n / (n - 1)
  const m = l.momentum ?? BN_MOMENTUM;
  const move = (part: string, batch: JaxArray) =>
    ctx.setState(
      part,
      ctx
        .state(part)
        .mul(1 - m)
        .add(lax.stopGradient(batch).reshape([-1]).mul(m)),
    );
  move('running_mean', mean);
  move('running_var', variance.ref.mul(n / Math.max(n - 1, 1)));
  const y = centered
    .div(np.sqrt(variance.add(l.eps ?? BN_EPS)))
    .mul(perChannel(ctx.param('weight')))
    .add(perChannel(ctx.param('bias')));
  return activate(ctx.jax, l.activation, y);
}

/** torch.nn.LayerNorm's default eps. */
export const LN_EPS = 1e-5;

/** Layer norm over the last axis, with `<prefix>weight` and `<prefix>bias`. */
export function layerNorm(ctx: LayerContext, prefix: string, x: JaxArray, eps: number): JaxArray {
  const np = ctx.jax.numpy;
  const mean = np.mean(x.ref, -1, { keepdims: true });
  const centered = x.sub(mean);
  const variance = np.mean(np.square(centered.ref), -1, { keepdims: true });
  return centered
    .div(np.sqrt(variance.add(eps)))
    .mul(ctx.param(`${prefix}weight`))
    .add(ctx.param(`${prefix}bias`));
}

function linear(ctx: LayerContext, part: string, x: JaxArray): JaxArray {
  return ctx.jax.numpy.dot(x, ctx.param(`${part}.weight`)).add(ctx.param(`${part}.bias`));
}

/** Pre-norm block: h = x + attn(ln1(x)); out = h + fc2(gelu(fc1(ln2(h)))), as shadergrad's. */
export function transformerBlock(
  ctx: LayerContext,
  l: Extract<LayerSpec, { type: 'transformerBlock' }>,
  x: JaxArray,
): JaxArray {
  const np = ctx.jax.numpy;
  const [n = 1, t = 1, c = 1] = x.shape;
  const d = c / l.heads;
  const normed = layerNorm(ctx, 'ln1.', x.ref, LN_EPS);
  // [N, T, C] -> [N, H, T, D]
  const heads = (part: string, input: JaxArray) =>
    np.swapaxes(linear(ctx, `attn.${part}`, input).reshape([n, t, l.heads, d]), 1, 2);
  const q = heads('query', normed.ref);
  const k = heads('key', normed.ref);
  const v = heads('value', normed);
  let scores = np.matmul(q, np.swapaxes(k, 2, 3)).mul(1 / Math.sqrt(d));
  if (l.causal) scores = scores.add(np.triu(np.full([t, t], -1e9), 1));
  const mixed = np.matmul(ctx.jax.nn.softmax(scores, -1), v);
  const merged = np.swapaxes(mixed, 1, 2).reshape([n, t, c]);
  const h = x.add(linear(ctx, 'attn.proj', merged));
  const hidden = linear(ctx, 'mlp.fc1', layerNorm(ctx, 'ln2.', h.ref, LN_EPS));
  const gelu = ctx.jax.nn.gelu(hidden, { approximate: false });
  return h.add(linear(ctx, 'mlp.fc2', gelu));
}

function conv2d(ctx: LayerContext, l: Extract<LayerSpec, { type: 'conv2d' }>, x: JaxArray) {
  const { lax } = ctx.jax;
  const p = l.padding;
  const pad: [number, number] = typeof p === 'number' ? [p, p] : [0, 0];
  const padding = p === 'same' ? 'SAME' : p === 'valid' ? 'VALID' : [pad, pad];
  const w = ctx.param('weight');
  const y = lax.convGeneralDilated(x, w, [l.stride, l.stride], padding);
  const biased = l.bias === false ? y : y.add(ctx.param('bias').reshape([-1, 1, 1]));
  return activate(ctx.jax, l.activation, biased);
}

function layerForward(ctx: LayerContext, l: LayerSpec, inputs: JaxArray[]): JaxArray {
  const { lax, numpy: np } = ctx.jax;
  const [x] = inputs;
  if (!x) throw new Error(`jax-js model: the ${l.type} layer has no input`);
  switch (l.type) {
    case 'conv2d':
      return conv2d(ctx, l, x);
    case 'maxPool':
      return lax.reduceWindow(x, np.max, [l.kernel, l.kernel], [l.stride, l.stride]);
    case 'avgPool':
      return lax.reduceWindow(x, np.mean, [l.kernel, l.kernel], [l.stride, l.stride]);
    case 'flatten':
      return x.reshape([x.shape[0] ?? 1, -1]);
    case 'dense': {
      // A dense layer flattens an image input first (C-major), as shadergrad's does.
      const flat = x.ndim === 4 ? x.reshape([x.shape[0] ?? 1, -1]) : x; // tokens stay [N, T, C]
      return activate(
        ctx.jax,
        l.activation,
        np.dot(flat, ctx.param('weight')).add(ctx.param('bias')),
      );
    }
    case 'batchNorm':
      return batchNorm(ctx, l, x);
    case 'add':
      // [N, C, H, W] + [N, C, H, W], or + [N, C, 1, 1], which broadcasts.
      return activate(ctx.jax, l.activation, x.add(inputs[1] ?? x));
    case 'concat':
      return np.concatenate(inputs, 1);
    case 'globalAvgPool':
      return np.mean(x, [2, 3], { keepdims: true });
    case 'activation':
      return activate(ctx.jax, l.activation, x);
    case 'dropout':
      // Needs a PRNG key threaded through the step; no benchmarked model has dropout.
      throw new Error('jax-js model: dropout is not written for the jax-js peer');
    case 'patchEmbedding': {
      // [N, C, H, W] -> conv P x P, stride P -> [N, F, S] -> [N, S, F]
      const w = ctx.param('weight');
      const y = lax.convGeneralDilated(x, w, [l.patch, l.patch], 'VALID');
      const biased = y.add(ctx.param('bias').reshape([-1, 1, 1]));
      const [n = 1, f = 1] = biased.shape;
      return np.swapaxes(biased.reshape([n, f, -1]), 1, 2);
    }
    case 'positionEmbedding':
      return x.add(ctx.param('weight'));
    case 'layerNorm':
      return layerNorm(ctx, '', x, l.eps ?? LN_EPS);
    case 'transformerBlock':
      return transformerBlock(ctx, l, x);
    case 'tokenMean':
      return np.mean(x, 1);
    default:
      return l satisfies never;
  }
}

/**
 * Logits [N, classes] of the model on x [N, C, H, W] in training mode, and the new running
 * statistics. Consumes p, state and x (one reference each).
 */
export function jaxForward(
  jax: Jax,
  model: ModelConfig,
  p: Params,
  state: Params,
  x: JaxArray,
): [JaxArray, Params] {
  const resolved = resolveLayers(model);
  // Readers left per output (index 0 is the model's input), so the last reader gets no .ref.
  const readers = new Array<number>(resolved.length + 1).fill(0);
  for (const r of resolved) for (const i of r.inputs) readers[i + 1] = (readers[i + 1] ?? 0) + 1;
  const outs: JaxArray[] = [x];
  const read = (i: number): JaxArray => {
    const a = outs[i + 1];
    if (!a) throw new Error(`jax-js model: layer ${i} has no output yet`);
    const left = (readers[i + 1] ?? 1) - 1;
    readers[i + 1] = left;
    return left > 0 ? a.ref : a;
  };
  const next: Params = {};
  for (const r of resolved) {
    const ctx: LayerContext = {
      jax,
      param: (part) => take(p, `${r.name}.${part}`),
      state: (part) => take(state, `${r.name}.${part}`),
      setState: (part, value) => (next[`${r.name}.${part}`] = value),
    };
    outs.push(layerForward(ctx, r.spec, r.inputs.map(read)));
  }
  const logits = outs[outs.length - 1];
  if (!logits || outs.length < 2) throw new Error('jax-js model: no layers');
  return [logits, next];
}
