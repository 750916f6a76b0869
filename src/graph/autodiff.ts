/**
 * Forward and backward rules, one entry per op in one table: a missing op or a missing direction
 * is a type error. Rules do not allocate: they ask the context for tensors (node values, node
 * gradients, parameters, scratch) and return the kernel calls that compute them. The executor
 * runs forward rules in graph order and backward rules in reverse, so each backward rule may
 * assume the gradient of its output is complete, and must write the gradient of each input that
 * needs one (ctx.grad(input) is undefined for data inputs).
 */
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import type { GraphNode, OpName } from './graph';
import {
  activationBackward,
  activationForward,
  avgPoolBackward,
  avgPoolForward,
  biasBackward,
  conv2dBackward,
  conv2dColsShape,
  conv2dForward,
  conv2dInputGradScratch,
  dropoutBackward,
  dropoutForward,
  matmul,
  maxPoolBackward,
  maxPoolForward,
  mseBackward,
  mseForward,
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
  type Activation,
  type MatmulVariant,
} from '../kernels/index';

export interface RuleContext {
  readonly training: boolean;
  readonly matmulVariant: MatmulVariant;
  /** u32 [1]: optimizer steps completed; constant through a step's forward and backward. */
  step(): GpuTensor;
  /** The nodes that take node `id`'s output as an input. */
  consumers(id: number): readonly GraphNode[];
  node(id: number): GraphNode;
  /** The node's forward output. */
  value(id: number): GpuTensor;
  /** dLoss/d(output of node), or undefined when nothing upstream needs it. */
  grad(id: number): GpuTensor | undefined;
  param(name: string): GpuTensor;
  paramGrad(name: string): GpuTensor;
  /** A scratch tensor private to one node (planned like any other intermediate). */
  scratch(node: number, key: string, shape: readonly number[], dtype?: 'f32' | 'u32'): GpuTensor;
}

export interface OpRule<K extends OpName> {
  forward(node: GraphNode<K>, ctx: RuleContext): KernelCall[];
  backward(node: GraphNode<K>, ctx: RuleContext): KernelCall[];
}

const none = (): KernelCall[] => [];

function input(node: GraphNode, i = 0): number {
  const id = node.inputs[i];
  if (id === undefined) throw new Error(`${node.op} node ${node.id} has no input ${i}`);
  return id;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`autodiff: ${what} is missing`);
  return v;
}

/**
 * The activation of a layer whose gradient the maxPool after it computes (fused into the pool's
 * backward, saving a pass over the layer's output): the layer's fused activation when the pool is
 * the layer's only consumer, so the gradient the pool writes is all of it; otherwise 'none'.
 */
function activationFoldedIntoPool(layer: GraphNode, ctx: RuleContext): Activation {
  if (layer.op !== 'conv2d' && layer.op !== 'dense') return 'none';
  const users = ctx.consumers(layer.id);
  if (users.length !== 1 || users[0]?.op !== 'maxPool') return 'none';
  return (layer as GraphNode<'conv2d' | 'dense'>).attrs.activation;
}

/**
 * dL/d(pre-activation): y' = f'(pre) * dY, written from the output y; identity when f = none, and
 * when a maxPool after the layer has written dPre in place of dY already.
 */
function preActivationGrad(
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

export const opRules: { [K in OpName]: OpRule<K> } = {
  input: { forward: none, backward: none },
  labels: { forward: none, backward: none },
  flatten: { forward: none, backward: none }, // a view: value and grad alias the input's

  conv2d: {
    forward: (node, ctx) => {
      const g = node.attrs.geometry;
      const { name, features, activation } = node.attrs;
      const cols = ctx.scratch(node.id, 'cols', conv2dColsShape(g));
      const args = {
        x: ctx.value(input(node)),
        weight: ctx.param(`${name}.weight`),
        bias: ctx.param(`${name}.bias`),
        out: ctx.value(node.id),
        cols,
        geometry: g,
        O: features,
        activation,
      };
      return conv2dForward(args, ctx.matmulVariant);
    },
    // dW = Σ dPre·colsᵀ, dB = Σ dPre, dX = col2im(Wᵀ·dPre); cols kept from the forward
    backward: (node, ctx) => {
      const g = node.attrs.geometry;
      const { name, features, activation } = node.attrs;
      const { calls, dPre } = preActivationGrad(node, activation, ctx);
      const dX = ctx.grad(input(node));
      const cols = ctx.scratch(node.id, 'cols', conv2dColsShape(g)); // im2col(x) from the forward
      const args = {
        x: ctx.value(input(node)),
        weight: ctx.param(`${name}.weight`),
        dOut: dPre,
        dWeight: ctx.paramGrad(`${name}.weight`),
        dBias: ctx.paramGrad(`${name}.bias`),
        cols,
        geometry: g,
        O: features,
        ...(dX
          ? {
              dX,
              ...conv2dInputGradScratch(g, features, ctx.matmulVariant, (key, shape) =>
                ctx.scratch(node.id, key, shape),
              ),
            }
          : {}),
      };
      return [...calls, ...conv2dBackward(args, ctx.matmulVariant)];
    },
  },

  dense: {
    // y = act(x·Wᵀ + b), x [N, in], W [out, in]
    forward: (node, ctx) => {
      const [N = 1, inputs = 1] = ctx.value(input(node)).shape;
      const { name, units, activation } = node.attrs;
      const args = {
        a: ctx.value(input(node)),
        b: ctx.param(`${name}.weight`),
        out: ctx.value(node.id),
        M: N,
        K: inputs,
        N: units,
        transB: true,
        bias: ctx.param(`${name}.bias`),
        biasMode: 'col' as const,
        activation,
      };
      return [matmul(args, ctx.matmulVariant)];
    },
    // dW = dPreᵀ·x, db = Σ_n dPre, dX = dPre·W
    backward: (node, ctx) => {
      const x = ctx.value(input(node));
      const [N = 1, inputs = 1] = x.shape;
      const { name, units, activation } = node.attrs;
      const { calls, dPre } = preActivationGrad(node, activation, ctx);
      calls.push(
        matmul(
          {
            a: dPre,
            b: x,
            out: ctx.paramGrad(`${name}.weight`),
            M: units,
            K: N,
            N: inputs,
            transA: true,
          },
          ctx.matmulVariant,
        ),
      );
      calls.push(
        biasBackward({ dOut: dPre, dBias: ctx.paramGrad(`${name}.bias`), N, C: units, S: 1 }),
      );
      const dX = ctx.grad(input(node));
      if (dX)
        calls.push(
          matmul(
            { a: dPre, b: ctx.param(`${name}.weight`), out: dX, M: N, K: units, N: inputs },
            ctx.matmulVariant,
          ),
        );
      return calls;
    },
  },

  activation: {
    forward: (node, ctx) => [
      activationForward({
        x: ctx.value(input(node)),
        y: ctx.value(node.id),
        activation: node.attrs.activation,
      }),
    ],
    backward: (node, ctx) => {
      const dX = ctx.grad(input(node));
      if (!dX) return [];
      return [
        activationBackward({
          y: ctx.value(node.id),
          dY: need(ctx.grad(node.id), 'activation gradient'),
          dX,
          activation: node.attrs.activation,
        }),
      ];
    },
  },

  dropout: {
    // Training: y = x·mask/(1-p). Evaluation: nothing to run, the value aliases the input's.
    forward: (node, ctx) => {
      if (!ctx.training) return [];
      const { rate, seed, layer } = node.attrs;
      const [x, y] = [ctx.value(input(node)), ctx.value(node.id)];
      return [dropoutForward({ x, step: ctx.step(), y, rate, seed, layer })];
    },
    // dX = dY·mask/(1-p), the mask recomputed from the same (seed, step, layer)
    backward: (node, ctx) => {
      const dX = ctx.grad(input(node));
      if (!dX) return [];
      const { rate, seed, layer } = node.attrs;
      const dY = need(ctx.grad(node.id), 'dropout gradient');
      return [dropoutBackward({ dY, step: ctx.step(), dX, rate, seed, layer })];
    },
  },

  maxPool: {
    forward: (node, ctx) => {
      const argmax = ctx.scratch(node.id, 'argmax', node.shape, 'u32');
      return [
        maxPoolForward({
          x: ctx.value(input(node)),
          out: ctx.value(node.id),
          argmax,
          geometry: node.attrs.geometry,
        }),
      ];
    },
    // dX gathers dY from the windows whose argmax is this element; when the layer before is a
    // conv or dense with an activation, times f' (that layer then skips its activationBackward)
    backward: (node, ctx) => {
      const dX = ctx.grad(input(node));
      if (!dX) return [];
      const argmax = ctx.scratch(node.id, 'argmax', node.shape, 'u32');
      return [
        maxPoolBackward({
          dOut: need(ctx.grad(node.id), 'pool gradient'),
          argmax,
          dX,
          geometry: node.attrs.geometry,
          activation: activationFoldedIntoPool(ctx.node(input(node)), ctx),
          out: ctx.value(node.id),
        }),
      ];
    },
  },

  avgPool: {
    forward: (node, ctx) => [
      avgPoolForward({
        x: ctx.value(input(node)),
        out: ctx.value(node.id),
        geometry: node.attrs.geometry,
      }),
    ],
    // dX = Σ over covering windows of dY / (KH·KW)
    backward: (node, ctx) => {
      const dX = ctx.grad(input(node));
      if (!dX) return [];
      return [
        avgPoolBackward({
          dOut: need(ctx.grad(node.id), 'pool gradient'),
          dX,
          geometry: node.attrs.geometry,
        }),
      ];
    },
  },

  softmaxCrossEntropy: {
    // Training fuses the gradient (softmax - onehot)/N into the forward dispatch.
    forward: (node, ctx) => {
      const logits = ctx.value(input(node, 0));
      const [N = 1, K = 1] = logits.shape;
      const labels = ctx.value(input(node, 1));
      const loss = ctx.value(node.id);
      const dLogits = ctx.grad(input(node, 0));
      if (ctx.training && dLogits)
        return [softmaxCrossEntropyForwardBackward({ logits, labels, loss, dLogits, N, K })];
      return [softmaxCrossEntropyForward({ logits, labels, loss, N, K })];
    },
    backward: none,
  },

  mse: {
    forward: (node, ctx) => {
      const pred = ctx.value(input(node, 0));
      const [N = 1, D = 1] = pred.shape;
      return [
        mseForward({ pred, target: ctx.value(input(node, 1)), loss: ctx.value(node.id), N, D }),
      ];
    },
    // dPred = 2 (pred - target) / (N·D)
    backward: (node, ctx) => {
      const dPred = ctx.grad(input(node, 0));
      if (!dPred) return [];
      const pred = ctx.value(input(node, 0));
      const [N = 1, D = 1] = pred.shape;
      return [mseBackward({ pred, target: ctx.value(input(node, 1)), dPred, N, D })];
    },
  },
};
