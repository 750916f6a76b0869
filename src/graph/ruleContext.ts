/**
 * What an autodiff rule sees (RuleContext) and is (OpRule): the contract between the rule tables
 * (autodiff.ts for images, sequenceRules.ts for sequences) and the executor that traces them.
 */
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import type { MatmulPolicy } from '../kernels/index';
import type { GraphNode, OpName } from './graph';

export interface RuleContext {
  readonly training: boolean;
  /** How products run: one variant, or the autotuner's choice per product. */
  readonly matmulPolicy: MatmulPolicy;
  /** Threads that share one channel's sum (dBias, batch norm's trees): channelSumLanes of the adapter. */
  readonly channelSumLanes: number;
  /** The largest tensor a kernel may bind: scratch past it goes through in batch chunks. */
  readonly maxBindingBytes: number;
  /** Storage of a convolution's im2col matrix: f16 under the plan's mixed precision. */
  readonly colsDtype: 'f32' | 'f16';
  /** Records a line about how the plan runs a node (printed with the plan's memory). */
  note(text: string): void;
  /** u32 [1]: optimizer steps completed; constant through a step's forward and backward. */
  step(): GpuTensor;
  /** The nodes that take node `id`'s output as an input. */
  consumers(id: number): readonly GraphNode[];
  node(id: number): GraphNode;
  /** The node's forward output. */
  value(id: number): GpuTensor;
  /**
   * dLoss/d(output of node `id`), complete once every consumer's backward has run (a rule reads
   * its own node's); undefined when nothing upstream needs it.
   */
  grad(id: number): GpuTensor | undefined;
  /**
   * Where the node's backward writes dLoss/d(input i) for its own use of that input: the input's
   * gradient itself, or, when the input feeds several uses, a part the executor adds to it.
   * Undefined when the input needs no gradient. Rules overwrite it, never accumulate.
   */
  inputGrad(node: GraphNode, i?: number): GpuTensor | undefined;
  /**
   * Whether the node's backward computes dLoss/d(input i) (false in inference, and for an input
   * that needs no gradient, such as the images): what inputGrad will answer, asked without
   * planning the tensor, so a forward rule can size its scratch for the backward it will have.
   */
  needsInputGrad(node: GraphNode, i?: number): boolean;
  param(name: string): GpuTensor;
  paramGrad(name: string): GpuTensor;
  /** A scratch tensor private to one node (planned like any other intermediate). */
  scratch(
    node: number,
    key: string,
    shape: readonly number[],
    dtype?: 'f32' | 'f16' | 'u32',
  ): GpuTensor;
}

export interface OpRule<K extends OpName> {
  forward(node: GraphNode<K>, ctx: RuleContext): KernelCall[];
  backward(node: GraphNode<K>, ctx: RuleContext): KernelCall[];
}

/** The rule of an op that runs nothing (inputs, views). */
export const none = (): KernelCall[] => [];

/** A tensor a rule cannot do without; missing means the executor or graph has a bug. */
export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`autodiff: ${what} is missing`);
  return v;
}
