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
  type Conv2dGeometry,
  type Padding,
  type PoolGeometry,
} from '../kernels/index';

export interface OpAttrs {
  input: { name: string };
  labels: { name: string };
  conv2d: {
    name: string;
    features: number;
    geometry: Conv2dGeometry;
    activation: Activation;
    /** False for a convolution without bias (one followed by batch norm). */
    bias: boolean;
  };
  maxPool: { geometry: PoolGeometry };
  avgPool: { geometry: PoolGeometry };
  flatten: Record<string, never>;
  dense: { name: string; units: number; activation: Activation };
  activation: { activation: Activation };
  /** rate p; u32 seed and layer id, which the mask's hash mixes with the step and element index. */
  dropout: { name: string; rate: number; seed: number; layer: number };
  /** out = f(a + b); 'spatial': b is [N, C, 1, 1], broadcast over H, W. */
  add: { name: string; broadcast: 'none' | 'spatial'; activation: Activation };
  /** torch.cat(inputs, dim=1). */
  concat: { name: string };
  /** torch.nn.BatchNorm2d ([N, C, H, W]) or BatchNorm1d ([N, C]), then f. */
  batchNorm: {
    name: string;
    features: number;
    eps: number;
    momentum: number;
    activation: Activation;
  };
  /** torch.nn.AdaptiveAvgPool2d(1): [N, C, H, W] -> [N, C, 1, 1]. */
  globalAvgPool: { name: string };
  softmaxCrossEntropy: Record<string, never>;
  mse: Record<string, never>;
}

export type OpName = keyof OpAttrs;

export interface ParamSpec {
  /** PyTorch state_dict name, e.g. 'conv1.weight'. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Inputs per output unit, for PyTorch's default init bound 1/sqrt(fanIn). */
  readonly fanIn: number;
  /**
   * How the store fills it, as PyTorch does: 'uniform' U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (conv and
   * dense, the default), 'ones' or 'zeros' (batch norm's weight, bias and running statistics).
   */
  readonly init?: 'uniform' | 'ones' | 'zeros';
  /** False for buffers no optimizer updates (batch norm's running statistics); default true. */
  readonly trainable?: boolean;
}

/** One input slot that reads a node's output: the consumer node and which of its inputs. */
export interface GradientUse {
  readonly consumer: number;
  readonly index: number;
}

export interface GraphNode<K extends OpName = OpName> {
  readonly id: number;
  readonly op: K;
  readonly inputs: readonly number[];
  readonly attrs: OpAttrs[K];
  /** Output shape, batch first. Losses output [N] per-sample losses. */
  readonly shape: readonly number[];
  readonly params: readonly ParamSpec[];
}

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

  labels(name: string, batch: number): number {
    return this.append('labels', [], { name }, [batch]);
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

  dense(x: number, o: { name: string; units: number; activation?: Activation }): number {
    const [N = 0, inputs = 0] = expectRank(this.get(x), 2, o.name);
    expectPositive(o.name, 'units', o.units);
    const params = [
      { name: `${o.name}.weight`, shape: [o.units, inputs], fanIn: inputs },
      { name: `${o.name}.bias`, shape: [o.units], fanIn: inputs },
    ];
    return this.append(
      'dense',
      [x],
      { name: o.name, units: o.units, activation: o.activation ?? 'none' },
      [N, o.units],
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

  /** Mean softmax cross-entropy of logits [N, K] against integer labels [N]. */
  softmaxCrossEntropy(logits: number, labels: number): number {
    const [N = 0] = expectRank(this.get(logits), 2, 'softmaxCrossEntropy');
    if (this.get(labels).shape[0] !== N)
      throw new ShadergradError(
        `softmaxCrossEntropy: ${N} logits rows but ${this.get(labels).shape[0]} labels`,
      );
    return this.append('softmaxCrossEntropy', [logits, labels], {}, [N]);
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

  /** Every parameter and buffer in graph order (the state_dict order). */
  parameters(): ParamSpec[] {
    return this.nodes.flatMap((n) => n.params);
  }
}

function describe(op: OpName, attrs: unknown): string {
  const name = (attrs as { name?: string }).name;
  return name ? `${op} '${name}'` : op;
}

function expectRank(node: GraphNode, rank: number, layer: string): number[] {
  if (node.shape.length !== rank) {
    throw new ShadergradError(
      `${layer}: expects a ${rank}-D input, got [${node.shape.join(', ')}] from ${describe(node.op, node.attrs)}`,
    );
  }
  return [...node.shape];
}

function expectPositive(layer: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new ShadergradError(`${layer}: ${what} = ${v}, expected a whole number >= 1`);
}

/** Geometry helpers throw RangeError without the layer's name; add it. */
function withLayerName<T>(layer: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ShadergradError(`${layer}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
