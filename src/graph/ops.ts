/**
 * The graph's vocabulary: each op's attributes, the node and parameter records, and the shape
 * checks every builder method shares (errors name the layer and the node that fed it).
 */
import { ShadergradError } from '../base/errors';
import type { Activation, Conv2dGeometry, GeluApproximation, PoolGeometry } from '../kernels/index';

export interface OpAttrs {
  input: { name: string };
  /** Integer class ids (softmaxCrossEntropy's targets), one per row of the logits. */
  labels: { name: string };
  /** Integer token ids (u32), an input node such as [N, T]; what an embedding reads. */
  tokens: { name: string; vocab: number };
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
  /** `weight`: another layer's parameter used as this one's weight (tying); default <name>.weight. */
  dense: { name: string; units: number; activation: Activation; weight?: string };
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
  /** A view of the input with another shape (the same elements in the same order). */
  reshape: Record<string, never>;
  /** x.transpose(1, 2) of a 4-D x: [A, B, C, D] -> [A, C, B, D] (attention's heads). */
  transpose: Record<string, never>;
  /** Batched product of two activations over their leading dimensions: a·b, or a·bᵀ. */
  matmul: { name: string; transB: boolean };
  /** softmax(scale·x) over the last axis; causal: query t sees keys 0..t only. */
  softmax: { name: string; scale: number; causal: boolean };
  /** torch.nn.LayerNorm over the last axis, with weight (ones) and bias (zeros). */
  layerNorm: { name: string; features: number; eps: number };
  /** torch.nn.GELU(approximate): x·Φ(x), or its tanh approximation. */
  gelu: { approximate: GeluApproximation };
  /** torch.nn.Embedding: out[..., :] = weight[token]. */
  embedding: { name: string; vocab: number; features: number };
  /** x + weight, a learned [T, C] table broadcast over the batch (position embeddings). */
  positionEmbedding: { name: string };
  /** Rows labelled ignoreIndex are left out of the mean (torch's ignore_index); none if unset. */
  softmaxCrossEntropy: { ignoreIndex?: number };
  mse: Record<string, never>;
}

export type OpName = keyof OpAttrs;

/**
 * The transformer ops. Their rules and kernels load only when a graph uses one (a CNN page does
 * not download them): see loadOpRules in autodiff.ts.
 */
export const SEQUENCE_OPS = [
  'tokens',
  'reshape',
  'transpose',
  'matmul',
  'softmax',
  'layerNorm',
  'gelu',
  'embedding',
  'positionEmbedding',
] as const satisfies readonly OpName[];
export type SequenceOp = (typeof SEQUENCE_OPS)[number];

export interface ParamSpec {
  /** PyTorch state_dict name, e.g. 'conv1.weight'. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Inputs per output unit, for PyTorch's default init bound 1/sqrt(fanIn). */
  readonly fanIn: number;
  /**
   * How the store fills it, as PyTorch does: 'uniform' U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (conv and
   * dense, the default), 'ones' or 'zeros' (normalization weights, biases and running
   * statistics), 'normal' N(0, std²) (embeddings).
   */
  readonly init?: 'uniform' | 'ones' | 'zeros' | 'normal';
  /** The standard deviation of a 'normal' init (default 1, torch.nn.Embedding's). */
  readonly std?: number;
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

export function describe(op: OpName, attrs: unknown): string {
  const name = (attrs as { name?: string }).name;
  return name ? `${op} '${name}'` : op;
}

export function expectRank(node: GraphNode, rank: number, layer: string): number[] {
  if (node.shape.length !== rank) {
    throw new ShadergradError(
      `${layer}: expects a ${rank}-D input, got [${node.shape.join(', ')}] from ${describe(node.op, node.attrs)}`,
    );
  }
  return [...node.shape];
}

export function expectAtLeastRank(node: GraphNode, rank: number, layer: string): number[] {
  if (node.shape.length < rank) {
    throw new ShadergradError(
      `${layer}: expects an input of ${rank} or more dimensions, got [${node.shape.join(', ')}] from ${describe(node.op, node.attrs)}`,
    );
  }
  return [...node.shape];
}

export function expectPositive(layer: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new ShadergradError(`${layer}: ${what} = ${v}, expected a whole number >= 1`);
}

/** Geometry helpers throw RangeError without the layer's name; add it. */
export function withLayerName<T>(layer: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ShadergradError(`${layer}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
