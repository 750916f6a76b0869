/**
 * A layer's fused activation in the backward (the rules of autodiff.ts): the gradient before it,
 * and whether a maxPool after the layer already folds it into its own backward.
 */
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import { activationBackward, type Activation } from '../kernels/index';
import type { GraphNode } from './graph';
import { need, type RuleContext } from './ruleContext';

/**
 * The activation of a layer whose gradient the maxPool after it computes (fused into the pool's
 * backward, saving a pass over the layer's output): the layer's fused activation when the pool is
 * the layer's only consumer, so the gradient the pool writes is all of it; otherwise 'none'.
 */
export function activationFoldedIntoPool(layer: GraphNode, ctx: RuleContext): Activation {
  if (layer.op !== 'conv2d' && layer.op !== 'dense') return 'none';
  const users = ctx.consumers(layer.id);
  if (users.length !== 1 || users[0]?.op !== 'maxPool') return 'none';
  return (layer as GraphNode<'conv2d' | 'dense'>).attrs.activation;
}

/**
 * dL/d(pre-activation): y' = f'(pre) * dY, written from the output y; identity when f = none, and
 * when a maxPool after the layer has written dPre in place of dY already.
 */
export function preActivationGrad(
  node: GraphNode,
  activation: Activation,
  ctx: RuleContext,
): { calls: KernelCall[]; dPre: GpuTensor } {
  const dY = need(ctx.grad(node.id), `gradient of node ${node.id}`);
  if (activation === 'none' || activationFoldedIntoPool(node, ctx) !== 'none')
    return { calls: [], dPre: dY };
  const dPre = ctx.scratch(node.id, 'dPre', node.shape);
  return { calls: [activationBackward({ y: ctx.value(node.id), dY, dX: dPre, activation })], dPre };
}
