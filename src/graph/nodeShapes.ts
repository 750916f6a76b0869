/**
 * What both executions of a graph read off a node the same way: the GPU rules (autodiff.ts) and
 * the CPU reference (cpuReference.ts). Written once so the two cannot drift apart.
 */
import { elementCount } from '../gpu/tensor';
import type { GraphNode } from './graph';

/** The id of the node's input i; a node without it is a bug in whoever built the graph. */
export function inputOf(node: GraphNode, i = 0): number {
  const id = node.inputs[i];
  if (id === undefined) throw new Error(`${node.op} node ${node.id} has no input ${i}`);
  return id;
}

/** The parameter a dense node multiplies by: its own <name>.weight, or a tied one. */
export function denseWeight(node: GraphNode<'dense'>): string {
  return node.attrs.weight ?? `${node.attrs.name}.weight`;
}

/** H·W of [N, C, H, W] (1 for [N, C]): the S of the [N, C, S] layout the kernels use. */
export function spatialSize(shape: readonly number[]): number {
  return shape.slice(2).reduce((a, b) => a * b, 1);
}

/** Per input of a concat: its node, input index and where its channels land in the output. */
export function concatSlices(
  node: GraphNode<'concat'>,
  shapeOf: (id: number) => readonly number[],
) {
  const [N = 1, outC = 1] = node.shape;
  const S = spatialSize(node.shape);
  let channelOffset = 0;
  return node.inputs.map((id, index) => {
    const C = shapeOf(id)[1] ?? 1;
    const dims = { N, C, S, outC, channelOffset };
    channelOffset += C;
    return { id, index, dims };
  });
}

/** [..., M, K] · [..., K, N]: the batch (leading dimensions) and the three sizes. */
export function matmulDims(node: GraphNode<'matmul'>, aShape: readonly number[]) {
  const [M = 1, K = 1] = aShape.slice(-2);
  const N = node.shape.at(-1) ?? 1;
  return { batch: elementCount(aShape.slice(0, -2)), M, K, N };
}

/** Rows and width of a last-axis op: [..., D] as [rows, D]. */
export function lastAxis(shape: readonly number[]): { rows: number; D: number } {
  const D = shape.at(-1) ?? 1;
  return { rows: elementCount(shape) / D, D };
}

/** [A, B, C, D] of a transpose's input (or, for its backward, output). */
export function transposeDims(shape: readonly number[]) {
  const [A = 1, B = 1, C = 1, D = 1] = shape;
  return { A, B, C, D };
}
