/**
 * The model graph: typed nodes with shapes inferred as they are added, so a shape that does not
 * fit (kernel larger than its input, channel mismatch, zero sizes) fails where it is written,
 * naming the layer. Shapes include the batch dimension N. Parameters are declared by the node
 * that owns them, with PyTorch names and layouts (conv OIHW, dense [out, in]).
 */
import { ShadergradError } from '../base/errors';
import {
  conv2dGeometry,
  isDropoutRate,
  poolGeometry,
  type Activation,
  type GeluApproximation,
  type Padding,
} from '../kernels/index';
import { elementCount } from '../gpu/tensor';
import {
  describe,
  expectAtLeastRank,
  expectPositive,
  expectRank,
  withLayerName,
  type GradientUse,
  type GraphNode,
  type OpAttrs,
  type OpName,
  type ParamSpec,
} from './ops';

export type { GradientUse, GraphNode, OpAttrs, OpName, ParamSpec } from './ops';

export interface Conv2dOptions {
  name: string;
  features: number;
  kernel: number | readonly [number, number];
  stride?: number | readonly [number, number];
  padding?: Padding;
  activation?: Activation;
  /** Learn a bias (default true); false before a batch norm, which has its own. */
  bias?: boolean;
}

export interface BatchNormOptions {
  name: string;
  /** Added to the variance (torch 1e-5). */
  eps?: number;
  /** Running-statistics update rate (torch 0.1). */
  momentum?: number;
  activation?: Activation;
}

/** Builds a graph node by node; each method checks shapes and returns the new node's id. */
export class Graph {
  readonly nodes: GraphNode[] = [];

  get(id: number): GraphNode {
    const n = this.nodes[id];
    if (!n) throw new ShadergradError(`graph: no node ${id}`);
    return n;
  }

  private append<K extends OpName>(
    op: K,
    inputs: number[],
    attrs: OpAttrs[K],
    shape: number[],
    params: ParamSpec[] = [],
  ): number {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0)
        throw new ShadergradError(
          `${describe(op, attrs)}: output shape [${shape.join(', ')}] has an empty dimension`,
        );
    }
    const id = this.nodes.length;
    this.nodes.push({ id, op, inputs, attrs, shape, params });
    return id;
  }

  input(name: string, shape: readonly number[]): number {
    return this.append('input', [], { name }, [...shape]);
  }

  /** Integer class ids: [batch], or e.g. [N, T] for one target token per position. */
  labels(name: string, shape: number | readonly number[]): number {
    return this.append('labels', [], { name }, typeof shape === 'number' ? [shape] : [...shape]);
  }

  conv2d(x: number, o: Conv2dOptions): number {
    const [N = 0, C = 0, H = 0, W = 0] = expectRank(this.get(x), 4, o.name);
    const geometry = withLayerName(o.name, () =>
      conv2dGeometry({ N, C, H, W }, o.kernel, o.stride ?? 1, o.padding ?? 'valid'),
    );
    expectPositive(o.name, 'features', o.features);
    const fanIn = C * geometry.KH * geometry.KW;
    const bias = o.bias ?? true;
    const params = [
      { name: `${o.name}.weight`, shape: [o.features, C, geometry.KH, geometry.KW], fanIn },
      ...(bias ? [{ name: `${o.name}.bias`, shape: [o.features], fanIn }] : []),
    ];
    const attrs = {
      name: o.name,
      features: o.features,
      geometry,
      activation: o.activation ?? 'none',
      bias,
    };
    return this.append('conv2d', [x], attrs, [N, o.features, geometry.OH, geometry.OW], params);
  }

  pool(
    kind: 'maxPool' | 'avgPool',
    x: number,
    kernel: number,
    stride?: number,
    name: string = kind,
  ): number {
    const [N = 0, C = 0, H = 0, W = 0] = expectRank(this.get(x), 4, name);
    const geometry = withLayerName(name, () =>
      poolGeometry({ N, C, H, W }, kernel, stride ?? kernel),
    );
    return this.append(kind, [x], { geometry }, [N, C, geometry.OH, geometry.OW]);
  }

  flatten(x: number): number {
    const [N, ...rest] = this.get(x).shape;
    return this.append('flatten', [x], {}, [N ?? 1, rest.reduce((a, b) => a * b, 1)]);
  }

  /**
   * torch.nn.Linear over the last axis ([N, in] -> [N, units], or [N, T, in] -> [N, T, units]):
   * y = act(x·Wᵀ + b), W [units, in] named <name>.weight; or, with `weight`,
   * an earlier layer's parameter of that shape (weight tying: a GPT's output projection reusing
   * its token table). A parameter used twice gets the sum of both uses' gradients.
   */
  dense(
    x: number,
    o: { name: string; units: number; activation?: Activation; weight?: string },
  ): number {
    const node = this.get(x);
    if (node.shape.length !== 2 && node.shape.length !== 3)
      throw new ShadergradError(
        `${o.name}: expects a 2-D [N, in] or 3-D [N, T, in] input, got [${node.shape.join(', ')}] from ${describe(node.op, node.attrs)} (flatten images first)`,
      );
    const shape = [...node.shape];
    const inputs = shape.at(-1) ?? 0;
    expectPositive(o.name, 'units', o.units);
    const weight = o.weight
      ? this.tiedParameter(o.name, o.weight, [o.units, inputs])
      : { name: `${o.name}.weight`, shape: [o.units, inputs], fanIn: inputs };
    const params = [weight, { name: `${o.name}.bias`, shape: [o.units], fanIn: inputs }];
    const tied = o.weight ? { weight: o.weight } : {};
    return this.append(
      'dense',
      [x],
      { name: o.name, units: o.units, activation: o.activation ?? 'none', ...tied },
      [...shape.slice(0, -1), o.units],
      params,
    );
  }

  activation(x: number, activation: Activation): number {
    return this.append('activation', [x], { activation }, [...this.get(x).shape]);
  }

  /**
   * Inverted dropout (nn.Dropout): in training y = x * mask / (1 - rate), a new mask each step;
   * in evaluation y is x. The layer id is the node id; the seed defaults to one derived from it.
   */
  dropout(x: number, rate: number, name = 'dropout', seed?: number): number {
    if (!isDropoutRate(rate))
      throw new ShadergradError(`${name}: rate = ${rate}, expected a probability in [0, 1)`);
    const layer = this.nodes.length;
    const attrs = { name, rate, seed: seed ?? Math.imul(layer + 1, 0x9e3779b9) >>> 0, layer };
    return this.append('dropout', [x], attrs, [...this.get(x).shape]);
  }

  /**
   * out = f(a + b), a skip connection's sum. b has a's shape, or is [N, C, 1, 1] against a
   * [N, C, H, W] a (broadcast over H, W, as torch does).
   */
  add(a: number, b: number, o: { name?: string; activation?: Activation } = {}): number {
    const name = o.name ?? 'add';
    const [sa, sb] = [this.get(a).shape, this.get(b).shape];
    const same = sa.length === sb.length && sa.every((d, i) => d === sb[i]);
    const spatial =
      sa.length === 4 &&
      sb.length === 4 &&
      sb[0] === sa[0] &&
      sb[1] === sa[1] &&
      sb[2] === 1 &&
      sb[3] === 1;
    if (!same && !spatial)
      throw new ShadergradError(
        `${name}: cannot add [${sb.join(', ')}] from ${describe(this.get(b).op, this.get(b).attrs)} to [${sa.join(', ')}] from ${describe(this.get(a).op, this.get(a).attrs)}: expected the same shape, or [N, C, 1, 1] to broadcast over H, W`,
      );
    const attrs = {
      name,
      broadcast: same ? ('none' as const) : ('spatial' as const),
      activation: o.activation ?? 'none',
    };
    return this.append('add', [a, b], attrs, [...sa]);
  }

  /** torch.cat(inputs, dim=1): the inputs agree in every dimension but the channels. */
  concat(inputs: readonly number[], name = 'concat'): number {
    if (inputs.length < 2)
      throw new ShadergradError(`${name}: concatenates 2 or more inputs, got ${inputs.length}`);
    const first = this.get(inputs[0] ?? -1);
    let channels = 0;
    for (const id of inputs) {
      const n = this.get(id);
      const fits =
        n.shape.length === first.shape.length &&
        n.shape.length >= 2 &&
        n.shape.every((d, i) => i === 1 || d === first.shape[i]);
      if (!fits)
        throw new ShadergradError(
          `${name}: [${n.shape.join(', ')}] from ${describe(n.op, n.attrs)} does not match [${first.shape.join(', ')}] from ${describe(first.op, first.attrs)} outside dimension 1 (channels)`,
        );
      channels += n.shape[1] ?? 0;
    }
    const shape = [...first.shape];
    shape[1] = channels;
    return this.append('concat', [...inputs], { name }, shape);
  }

  /**
   * Batch normalization over the channels of [N, C, H, W] (BatchNorm2d) or [N, C] (BatchNorm1d):
   * affine weight (ones) and bias (zeros), and the running mean (zeros) and variance (ones) that
   * evaluation uses, with PyTorch's names.
   */
  batchNorm(x: number, o: BatchNormOptions): number {
    const shape = this.get(x).shape;
    if (shape.length !== 4 && shape.length !== 2)
      throw new ShadergradError(
        `${o.name}: batch norm expects [N, C, H, W] or [N, C], got [${shape.join(', ')}] from ${describe(this.get(x).op, this.get(x).attrs)}`,
      );
    const C = shape[1] ?? 0;
    const eps = o.eps ?? 1e-5;
    const momentum = o.momentum ?? 0.1;
    if (!(eps > 0) || !Number.isFinite(eps))
      throw new ShadergradError(`${o.name}: eps = ${eps}, expected a small positive number`);
    if (!(momentum >= 0 && momentum <= 1))
      throw new ShadergradError(`${o.name}: momentum = ${momentum}, expected a number in [0, 1]`);
    const channelParam = (what: string, init: 'ones' | 'zeros', trainable: boolean): ParamSpec => ({
      name: `${o.name}.${what}`,
      shape: [C],
      fanIn: 1,
      init,
      trainable,
    });
    const params = [
      channelParam('weight', 'ones', true),
      channelParam('bias', 'zeros', true),
      channelParam('running_mean', 'zeros', false),
      channelParam('running_var', 'ones', false),
    ];
    const attrs = { name: o.name, features: C, eps, momentum, activation: o.activation ?? 'none' };
    return this.append('batchNorm', [x], attrs, [...shape], params);
  }

  /** torch.nn.AdaptiveAvgPool2d(1): the mean over H, W of each channel, [N, C, 1, 1]. */
  globalAvgPool(x: number, name = 'avgpool'): number {
    const [N = 0, C = 0] = expectRank(this.get(x), 4, name);
    return this.append('globalAvgPool', [x], { name }, [N, C, 1, 1]);
  }

  // ---- sequence models (transformers): tokens, embeddings, attention's pieces, layer norm

  /** Integer token ids below `vocab`, e.g. [N, T]: fed as u32, read by an embedding. */
  tokens(name: string, shape: readonly number[], vocab: number): number {
    expectPositive(name, 'vocab', vocab);
    return this.append('tokens', [], { name, vocab }, [...shape]);
  }

  /** torch.nn.Embedding(vocab, features): tokens [...] -> [..., features], weight N(0, 1). */
  embedding(tokens: number, o: { name: string; features: number }): number {
    const source = this.get(tokens);
    if (source.op !== 'tokens')
      throw new ShadergradError(
        `${o.name}: an embedding reads a tokens input, got ${describe(source.op, source.attrs)}`,
      );
    const { vocab } = (source as GraphNode<'tokens'>).attrs;
    expectPositive(o.name, 'features', o.features);
    const weight = { name: `${o.name}.weight`, shape: [vocab, o.features], fanIn: 1 };
    const attrs = { name: o.name, vocab, features: o.features };
    const params = [{ ...weight, init: 'normal' as const, std: 1 }];
    return this.append('embedding', [tokens], attrs, [...source.shape, o.features], params);
  }

  /** x [N, T, C] + weight [T, C], a learned position table; weight N(0, std²), std 0.02. */
  positionEmbedding(x: number, o: { name: string; std?: number }): number {
    const [, T = 0, C = 0] = expectRank(this.get(x), 3, o.name);
    const weight = { name: `${o.name}.weight`, shape: [T, C], fanIn: 1 };
    const params = [{ ...weight, init: 'normal' as const, std: o.std ?? 0.02 }];
    return this.append('positionEmbedding', [x], { name: o.name }, [...this.get(x).shape], params);
  }

  /** A view with the same batch size and elements: [N, ...rest] -> [N, ...shape]. */
  reshape(x: number, shape: readonly number[], name = 'reshape'): number {
    const from = this.get(x).shape;
    const [N = 1, ...rest] = from;
    if (elementCount(shape) !== elementCount(rest))
      throw new ShadergradError(
        `${name}: cannot view [${from.join(', ')}] from ${describe(this.get(x).op, this.get(x).attrs)} as [N, ${shape.join(', ')}]: ${elementCount(rest)} values per sample, not ${elementCount(shape)}`,
      );
    return this.append('reshape', [x], {}, [N, ...shape]);
  }

  /** x.transpose(1, 2): [A, B, C, D] -> [A, C, B, D], e.g. [N, T, H, D] -> [N, H, T, D]. */
  transpose(x: number, name = 'transpose'): number {
    const [A = 0, B = 0, C = 0, D = 0] = expectRank(this.get(x), 4, name);
    return this.append('transpose', [x], {}, [A, C, B, D]);
  }

  /**
   * Batched a·b (or a·bᵀ with transB) over shared leading dimensions: a [..., M, K] and
   * b [..., K, N] (or [..., N, K]) -> [..., M, N], e.g. attention's Q·Kᵀ and P·V.
   */
  matmul(a: number, b: number, o: { name?: string; transB?: boolean } = {}): number {
    const name = o.name ?? 'matmul';
    const sa = expectAtLeastRank(this.get(a), 3, name);
    const sb = expectAtLeastRank(this.get(b), 3, name);
    const transB = o.transB ?? false;
    const [M = 0, K = 0] = sa.slice(-2);
    const [bRows = 0, bCols = 0] = sb.slice(-2);
    const [bK, N] = transB ? [bCols, bRows] : [bRows, bCols];
    const lead = sa.slice(0, -2);
    const sameLead = lead.length === sb.length - 2 && lead.every((d, i) => d === sb[i]);
    if (!sameLead || bK !== K)
      throw new ShadergradError(
        `${name}: cannot multiply [${sa.join(', ')}] by [${sb.join(', ')}]${transB ? 'ᵀ' : ''}: expected equal leading dimensions and ${K} rows in the right operand`,
      );
    return this.append('matmul', [a, b], { name, transB }, [...lead, M, N]);
  }

  /** softmax(scale·x) over the last axis; causal masks key j > query t (x [..., T, T]). */
  softmax(x: number, o: { name?: string; scale?: number; causal?: boolean } = {}): number {
    const name = o.name ?? 'softmax';
    const shape = this.get(x).shape;
    const scale = o.scale ?? 1;
    const causal = o.causal ?? false;
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new ShadergradError(`${name}: scale = ${scale}, expected a positive number`);
    if (causal && (shape.length < 2 || shape.at(-1) !== shape.at(-2)))
      throw new ShadergradError(
        `${name}: a causal softmax needs square [..., T, T] scores, got [${shape.join(', ')}]`,
      );
    return this.append('softmax', [x], { name, scale, causal }, [...shape]);
  }

  /** torch.nn.LayerNorm(C) over the last axis: weight (ones) and bias (zeros), eps 1e-5. */
  layerNorm(x: number, o: { name: string; eps?: number }): number {
    const shape = expectAtLeastRank(this.get(x), 2, o.name);
    const features = shape.at(-1) ?? 0;
    const eps = o.eps ?? 1e-5;
    if (!(eps > 0) || !Number.isFinite(eps))
      throw new ShadergradError(`${o.name}: eps = ${eps}, expected a small positive number`);
    const param = (what: string, init: 'ones' | 'zeros'): ParamSpec => ({
      name: `${o.name}.${what}`,
      shape: [features],
      fanIn: 1,
      init,
    });
    const params = [param('weight', 'ones'), param('bias', 'zeros')];
    return this.append('layerNorm', [x], { name: o.name, features, eps }, [...shape], params);
  }

  /** torch.nn.GELU: x·Φ(x) ('none', the default), or its tanh approximation. */
  gelu(x: number, approximate: GeluApproximation = 'none'): number {
    return this.append('gelu', [x], { approximate }, [...this.get(x).shape]);
  }

  /**
   * Mean softmax cross-entropy of logits [N, K] against integer labels [N]; or of [N, T, K]
   * against [N, T] (one target per token, the mean over all N·T), whose loss node is [N·T].
   * With `ignoreIndex` (torch's ignore_index, e.g. -100 for padding), rows with that label get
   * loss 0 and no gradient, and the mean runs over the other rows: sum the loss node's values and
   * divide by their count. Without it, every label must be a class (a bad one gives NaN).
   */
  softmaxCrossEntropy(logits: number, labels: number, o: { ignoreIndex?: number } = {}): number {
    const shape = expectAtLeastRank(this.get(logits), 2, 'softmaxCrossEntropy');
    const rows = elementCount(shape.slice(0, -1));
    const labelShape = this.get(labels).shape;
    if (elementCount(labelShape) !== rows || labelShape[0] !== shape[0])
      throw new ShadergradError(
        `softmaxCrossEntropy: logits [${shape.join(', ')}] need ${rows} labels shaped [${shape.slice(0, -1).join(', ')}], got [${labelShape.join(', ')}]`,
      );
    if (o.ignoreIndex !== undefined && !Number.isInteger(o.ignoreIndex))
      throw new ShadergradError(
        `softmaxCrossEntropy: ignoreIndex = ${o.ignoreIndex}, expected a whole number (torch uses -100)`,
      );
    const attrs = o.ignoreIndex === undefined ? {} : { ignoreIndex: o.ignoreIndex };
    return this.append('softmaxCrossEntropy', [logits, labels], attrs, [rows]);
  }

  /** Mean squared error of predictions [N, D] against float targets [N, D] (an input node). */
  mse(pred: number, targets: number): number {
    const [N = 0, D = 0] = expectRank(this.get(pred), 2, 'mse');
    const t = this.get(targets).shape;
    if (t[0] !== N || t[1] !== D)
      throw new ShadergradError(`mse: predictions [${N}, ${D}] but targets [${t.join(', ')}]`);
    return this.append('mse', [pred, targets], {}, [N]);
  }

  /** The loss node, which must come last. */
  lossNode(): GraphNode<'softmaxCrossEntropy' | 'mse'> {
    const last = this.nodes[this.nodes.length - 1];
    if (!last || (last.op !== 'softmaxCrossEntropy' && last.op !== 'mse'))
      throw new ShadergradError('graph: the last node must be a loss (softmaxCrossEntropy or mse)');
    return last as GraphNode<'softmaxCrossEntropy' | 'mse'>;
  }

  /**
   * The nodes whose outputs need gradients in a training step: those downstream of a trainable
   * parameter (or of a node in `also`, for gradients with respect to inputs or activations) and
   * upstream of the loss. Refuses a node whose output never reaches the loss: its gradient would
   * be undefined, and its work wasted.
   */
  gradientNodes(also: readonly number[] = []): Set<number> {
    const feedsLoss = this.nodesFeedingLoss();
    const unused = this.nodes.find((n) => !feedsLoss.has(n.id) && n.op !== 'labels');
    if (unused)
      throw new ShadergradError(
        `graph: ${describe(unused.op, unused.attrs)} (node ${unused.id}) does not lead to the loss; remove it or use its output`,
      );
    const seeds = new Set(also);
    const needs = new Set<number>();
    for (const n of this.nodes) {
      const trainable = n.params.some((p) => p.trainable !== false);
      if (trainable || seeds.has(n.id) || n.inputs.some((i) => needs.has(i))) needs.add(n.id);
    }
    return needs;
  }

  /**
   * For each node that needs a gradient, the input slots that read its output, in graph order.
   * Its gradient is the sum of what they send back: the last use (whose backward runs first)
   * writes the gradient itself, every other use writes a part that is added to it, in reverse
   * graph order, after that consumer's backward (a fixed order, so reruns are bit-identical).
   */
  gradientUses(needs: ReadonlySet<number>): Map<number, GradientUse[]> {
    const uses = new Map<number, GradientUse[]>();
    for (const n of this.nodes) {
      n.inputs.forEach((id, index) => {
        if (!needs.has(id)) return;
        const list = uses.get(id) ?? [];
        list.push({ consumer: n.id, index });
        uses.set(id, list);
      });
    }
    return uses;
  }

  /** The loss node and every node it reads from, directly or not. */
  private nodesFeedingLoss(): Set<number> {
    const reached = new Set<number>([this.lossNode().id]);
    for (const n of [...this.nodes].reverse())
      if (reached.has(n.id)) for (const i of n.inputs) reached.add(i);
    return reached;
  }

  /**
   * Every parameter and buffer once, in graph order (the state_dict order; a tied parameter where
   * it first appears).
   */
  parameters(): ParamSpec[] {
    const seen = new Set<string>();
    return this.nodes.flatMap((n) => n.params).filter((p) => !seen.has(p.name) && seen.add(p.name));
  }

  /**
   * The node whose backward writes parameter `name`'s gradient itself: its last user among the
   * nodes whose backward runs (`runs`), the first of them in backward order. Any other user of a
   * tied parameter writes a part that is added after its backward (the executor's order for
   * activations read twice), so rules only ever overwrite.
   */
  parameterWriter(name: string, runs: ReadonlySet<number>): number | undefined {
    return this.nodes.filter((n) => runs.has(n.id) && n.params.some((p) => p.name === name)).at(-1)
      ?.id;
  }

  /** An earlier layer's parameter for `layer` to share; it must have the shape `layer` needs. */
  private tiedParameter(layer: string, name: string, shape: readonly number[]): ParamSpec {
    const found = this.parameters().find((p) => p.name === name);
    if (!found)
      throw new ShadergradError(`${layer}: no earlier layer has a parameter '${name}' to tie to`);
    if (found.shape.join() !== shape.join())
      throw new ShadergradError(
        `${layer}: '${name}' is [${found.shape.join(', ')}], the layer needs [${shape.join(', ')}]`,
      );
    return found;
  }
}
