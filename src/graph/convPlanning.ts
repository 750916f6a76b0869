/**
 * What a convolution's rules (autodiff.ts) plan before they emit calls: its path and samples per
 * pass (conv2dPlan), the plan's note on that path, and the scratch its weight gradient reads.
 * Kept apart so the forward and backward rules, which must agree, ask one place.
 */
import { mib } from '../base/units';
import type { GpuTensor } from '../gpu/tensor';
import type { GraphNode } from './graph';
import type { RuleContext } from './ruleContext';
import {
  conv2dColsShape,
  conv2dPlan,
  inputPaddedShape,
  outputRowsShape,
  weightGradPadsRows,
  weightForwardShape,
  type Conv2dGeometry,
  type ConvPlan,
} from '../kernels/index';

/**
 * A convolution's path and samples per pass, for the plan's policy, binding limit and cols; dX's
 * scratch counts only where the backward computes dX (not for a first layer's images).
 */
export function convPlan(node: GraphNode<'conv2d'>, ctx: RuleContext): ConvPlan {
  const { geometry, features } = node.attrs;
  const { matmulPolicy: policy, maxBindingBytes, colsDtype } = ctx;
  const withInputGrad = ctx.needsInputGrad(node);
  return conv2dPlan(geometry, features, { policy, maxBindingBytes, colsDtype, withInputGrad });
}

/**
 * The plan's note on the path a convolution's forward and weight gradient take: the implicit
 * product, or im2col + matmul through the batch's cols or in chunks (`maxBindingBytes`: why).
 */
export function convPathNote(
  name: string,
  g: Conv2dGeometry,
  O: number,
  plan: ConvPlan,
  maxBindingBytes: number,
): string {
  const cols = `[${conv2dColsShape(g).join(', ')}]`;
  if (plan.path === 'implicit')
    return `${name}: forward and weight gradient by the implicit product, straight from x padded to [${inputPaddedShape(g, O).join(', ')}] (no ${cols} cols)`;
  if (plan.chunk >= g.N)
    return `${name}: forward and weight gradient by im2col + matmul, through cols ${cols}`;
  return `${name}: forward and weight gradient by im2col + matmul, in chunks of ${plan.chunk} samples (the batch's ${cols} would pass the ${mib(maxBindingBytes)} binding)`;
}

/**
 * The forward's padded x: one scratch key in both rules, so it lives from forward to backward; in
 * f16 under mixed precision, as cols are on the im2col path.
 */
function paddedInput(node: GraphNode<'conv2d'>, ctx: RuleContext): GpuTensor {
  const { geometry, features } = node.attrs;
  return ctx.scratch(node.id, 'xPadded', inputPaddedShape(geometry, features), ctx.colsDtype);
}

/** The implicit forward's scratch: x padded, and the weight flipped. */
export function implicitForwardScratch(node: GraphNode<'conv2d'>, ctx: RuleContext) {
  const { geometry, features } = node.attrs;
  const weightForward = ctx.scratch(
    node.id,
    'weightForward',
    weightForwardShape(geometry, features),
  );
  return { xPadded: paddedInput(node, ctx), weightForward };
}

/**
 * What a conv's weight gradient reads: the forward's padded x (implicit path), the forward's cols
 * (the whole batch's), or cols unfolded again chunk by chunk with a part of dWeight per chunk.
 */
export function weightGradSource(node: GraphNode<'conv2d'>, ctx: RuleContext, plan: ConvPlan) {
  const { geometry: g, features } = node.attrs;
  const scratch = (key: string, shape: readonly number[], dtype = ctx.colsDtype): GpuTensor =>
    ctx.scratch(node.id, key, shape, dtype);
  if (plan.path === 'implicit') {
    const xPadded = paddedInput(node, ctx);
    if (!weightGradPadsRows(g)) return { implicitWeightGrad: { xPadded } }; // dOut read in place
    const dOutRows = scratch('dOutRows', outputRowsShape(g, features), 'f32');
    return { implicitWeightGrad: { xPadded, dOutRows } };
  }
  if (plan.chunk >= g.N) return { cols: scratch('cols', conv2dColsShape(g)) }; // the forward's
  return {
    cols: scratch('colsChunkBackward', conv2dColsShape({ ...g, N: plan.chunk })),
    dWeightPart: scratch('dWeightPart', [features, g.C * g.KH * g.KW], 'f32'),
  };
}
