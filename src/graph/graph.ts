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
  conv2d: { name: string; features: number; geometry: Conv2dGeometry; activation: Activation };
  maxPool: { geometry: PoolGeometry };
  avgPool: { geometry: PoolGeometry };
  flatten: Record<string, never>;
  dense: { name: string; units: number; activation: Activation };
  activation: { activation: Activation };
  /** rate p; u32 seed and layer id, which the mask's hash mixes with the step and element index. */
  dropout: { name: string; rate: number; seed: number; layer: number };
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
}

/** Builds a graph node by node; each method checks shapes and returns the new node's id. */
export class Graph {
  readonly nodes: GraphNode[] = [];

  get(id: number): GraphNode {
    const n = this.nodes[id];
    if (!n) throw new ShadergradError(`graph: no node ${id}`);
    return n;
  }

  private add<K extends OpName>(
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
    return this.add('input', [], { name }, [...shape]);
  }

  labels(name: string, batch: number): number {
    return this.add('labels', [], { name }, [batch]);
  }

  conv2d(x: number, o: Conv2dOptions): number {
    const [N = 0, C = 0, H = 0, W = 0] = expectRank(this.get(x), 4, o.name);
    const geometry = withLayerName(o.name, () =>
      conv2dGeometry({ N, C, H, W }, o.kernel, o.stride ?? 1, o.padding ?? 'valid'),
    );
    expectPositive(o.name, 'features', o.features);
    const fanIn = C * geometry.KH * geometry.KW;
    const params = [
      { name: `${o.name}.weight`, shape: [o.features, C, geometry.KH, geometry.KW], fanIn },
      { name: `${o.name}.bias`, shape: [o.features], fanIn },
    ];
    const attrs = {
      name: o.name,
      features: o.features,
      geometry,
      activation: o.activation ?? 'none',
    };
    return this.add('conv2d', [x], attrs, [N, o.features, geometry.OH, geometry.OW], params);
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
    return this.add(kind, [x], { geometry }, [N, C, geometry.OH, geometry.OW]);
  }

  flatten(x: number): number {
    const [N, ...rest] = this.get(x).shape;
    return this.add('flatten', [x], {}, [N ?? 1, rest.reduce((a, b) => a * b, 1)]);
  }

  dense(x: number, o: { name: string; units: number; activation?: Activation }): number {
    const [N = 0, inputs = 0] = expectRank(this.get(x), 2, o.name);
    expectPositive(o.name, 'units', o.units);
    const params = [
      { name: `${o.name}.weight`, shape: [o.units, inputs], fanIn: inputs },
      { name: `${o.name}.bias`, shape: [o.units], fanIn: inputs },
    ];
    return this.add(
      'dense',
      [x],
      { name: o.name, units: o.units, activation: o.activation ?? 'none' },
      [N, o.units],
      params,
    );
  }

  activation(x: number, activation: Activation): number {
    return this.add('activation', [x], { activation }, [...this.get(x).shape]);
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
    return this.add('dropout', [x], attrs, [...this.get(x).shape]);
  }

  /** Mean softmax cross-entropy of logits [N, K] against integer labels [N]. */
  softmaxCrossEntropy(logits: number, labels: number): number {
    const [N = 0] = expectRank(this.get(logits), 2, 'softmaxCrossEntropy');
    if (this.get(labels).shape[0] !== N)
      throw new ShadergradError(
        `softmaxCrossEntropy: ${N} logits rows but ${this.get(labels).shape[0]} labels`,
      );
    return this.add('softmaxCrossEntropy', [logits, labels], {}, [N]);
  }

  /** Mean squared error of predictions [N, D] against float targets [N, D] (an input node). */
  mse(pred: number, targets: number): number {
    const [N = 0, D = 0] = expectRank(this.get(pred), 2, 'mse');
    const t = this.get(targets).shape;
    if (t[0] !== N || t[1] !== D)
      throw new ShadergradError(`mse: predictions [${N}, ${D}] but targets [${t.join(', ')}]`);
    return this.add('mse', [pred, targets], {}, [N]);
  }

  /** The loss node, which must come last. */
  lossNode(): GraphNode<'softmaxCrossEntropy' | 'mse'> {
    const last = this.nodes[this.nodes.length - 1];
    if (!last || (last.op !== 'softmaxCrossEntropy' && last.op !== 'mse'))
      throw new ShadergradError('graph: the last node must be a loss (softmaxCrossEntropy or mse)');
    return last as GraphNode<'softmaxCrossEntropy' | 'mse'>;
  }

  /** Nodes downstream of a parameter: their outputs need gradients. Checks single consumers. */
  gradientNodes(): Set<number> {
    const needs = new Set<number>();
    const consumers = new Map<number, number>();
    for (const n of this.nodes) {
      for (const i of n.inputs)
        if (this.get(i).op !== 'labels') consumers.set(i, (consumers.get(i) ?? 0) + 1);
      if (n.params.length > 0 || n.inputs.some((i) => needs.has(i))) needs.add(n.id);
    }
    for (const [id, count] of consumers) {
      if (count > 1)
        throw new ShadergradError(
          `graph: node ${id} feeds ${count} consumers; only chains are supported so far`,
        );
    }
    return needs;
  }

  /** Every parameter in graph order (the state_dict order). */
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
