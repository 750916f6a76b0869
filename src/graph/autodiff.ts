/**
 * Forward and backward rules, one entry per op in one table: a missing op or a missing direction
 * is a type error. Rules do not allocate: they ask the context for tensors (node values, node
 * gradients, parameters, scratch) and return the kernel calls that compute them. The executor
 * runs forward rules in graph order and backward rules in reverse, so each backward rule may
 * assume the gradient of its output is complete, and must write the gradient of each input that
 * needs one (ctx.inputGrad(node, i) is undefined for data inputs). A node whose output feeds
 * several uses gets the sum of their gradients: the executor adds the parts (see
 * Graph.gradientUses), so no rule needs to know.
 */
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import type { Graph, GraphNode, OpName } from './graph';
import { SEQUENCE_OPS, type SequenceOp } from './ops';
import { need, none, type OpRule, type RuleContext } from './ruleContext';
import { activationFoldedIntoPool, preActivationGrad } from './activationGrad';
import { convPlan, convPathNote, implicitForwardScratch, weightGradSource } from './convPlanning';
import { concatSlices, denseWeight, inputOf, lastAxis, spatialSize } from './nodeShapes';
import {
  activationBackward,
  activationForward,
  addBackward,
  addCopy,
  addForward,
  addSpatialSum,
  batchNormBackward,
  batchNormForward,
  batchNormRunningUpdate,
  batchNormStats,
  concatBackward,
  concatForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  avgPoolBackward,
  avgPoolForward,
  biasBackward,
  conv2dBackward,
  conv2dColsShape,
  conv2dForward,
  conv2dInputGradScratch,
  halfStorageNote,
  inputGradPathNote,
  weightGradNote,
  weightGradRunsShape,
  dropoutBackward,
  dropoutForward,
  matmul,
  maxPoolBackward,
  maxPoolForward,
  mseBackward,
  mseForward,
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
} from '../kernels/index';

/** The tensors a batch norm's rules bind: input, output, parameters, statistics. */
function batchNormTensors(node: GraphNode<'batchNorm'>, ctx: RuleContext) {
  const { name, features, eps } = node.attrs;
  const [N = 1] = node.shape;
  const common = {
    x: ctx.value(inputOf(node)),
    weight: ctx.param(`${name}.weight`),
    N,
    C: features,
    S: spatialSize(node.shape),
    eps,
  };
  return {
    common,
    bias: ctx.param(`${name}.bias`),
    y: ctx.value(node.id),
    // the batch's statistics, kept from the forward for the backward
    mean: ctx.scratch(node.id, 'mean', [features]),
    variance: ctx.scratch(node.id, 'variance', [features]),
    runningMean: ctx.param(`${name}.running_mean`),
    runningVar: ctx.param(`${name}.running_var`),
  };
}

const imageRules: { [K in Exclude<OpName, SequenceOp>]: OpRule<K> } = {
  input: { forward: none, backward: none },
  labels: { forward: none, backward: none },
  flatten: { forward: none, backward: none }, // a view: value and grad alias the input's

  conv2d: {
    forward: (node, ctx) => {
      const g = node.attrs.geometry;
      const { name, features, activation } = node.attrs;
      const plan = convPlan(node, ctx);
      const common = {
        x: ctx.value(inputOf(node)),
        weight: ctx.param(`${name}.weight`),
        ...(node.attrs.bias ? { bias: ctx.param(`${name}.bias`) } : {}),
        out: ctx.value(node.id),
        geometry: g,
        O: features,
        activation,
      };
      ctx.note(convPathNote(name, g, features, plan, ctx.maxBindingBytes));
      if (plan.path === 'implicit') {
        const implicit = implicitForwardScratch(node, ctx);
        if (ctx.colsDtype === 'f16')
          ctx.note(`${name}: ${halfStorageNote('padded x', implicit.xPadded.shape)}`);
        return conv2dForward({ ...common, implicit }, ctx.matmulPolicy);
      }
      const chunk = plan.chunk;
      // whole-batch cols live on to the backward; a chunk's cols only through the forward
      const colsKey = chunk < g.N ? 'colsChunk' : 'cols';
      const colsShape = conv2dColsShape({ ...g, N: chunk });
      if (ctx.colsDtype === 'f16')
        ctx.note(`${name}: ${halfStorageNote('im2col matrix', colsShape)}`);
      const cols = ctx.scratch(node.id, colsKey, colsShape, ctx.colsDtype);
      return conv2dForward({ ...common, cols, batchChunk: chunk }, ctx.matmulPolicy);
    },
    // dW = Σ dPre·colsᵀ, dB = Σ dPre, dX = col2im(Wᵀ·dPre); cols kept from the forward, or
    // unfolded again chunk by chunk when the whole batch's would not fit one binding; on the
    // implicit path dW comes from the forward's padded x instead of cols
    backward: (node, ctx) => {
      const g = node.attrs.geometry;
      const { name, features, activation } = node.attrs;
      const { calls, dPre } = preActivationGrad(node, activation, ctx);
      const dX = ctx.inputGrad(node);
      const plan = convPlan(node, ctx);
      const chunk = plan.chunk;
      const perChunk = { ...g, N: chunk };
      const inputScratch =
        dX &&
        conv2dInputGradScratch(perChunk, features, ctx.matmulPolicy, (key, shape) =>
          ctx.scratch(node.id, key, shape),
        );
      if (inputScratch) ctx.note(`${name}: ${inputGradPathNote(perChunk, inputScratch)}`);
      const runsShape = weightGradRunsShape(perChunk, features);
      if (runsShape) ctx.note(`${name}: ${weightGradNote(perChunk, features) ?? ''}`);
      const chunked = weightGradSource(node, ctx, plan);
      const args = {
        x: ctx.value(inputOf(node)),
        weight: ctx.param(`${name}.weight`),
        dOut: dPre,
        dWeight: ctx.paramGrad(`${name}.weight`),
        ...(node.attrs.bias ? { dBias: ctx.paramGrad(`${name}.bias`) } : {}),
        ...chunked,
        ...(runsShape ? { dWeightRuns: ctx.scratch(node.id, 'dWeightRuns', runsShape) } : {}),
        geometry: g,
        O: features,
        batchChunk: chunk,
        biasLanes: ctx.channelSumLanes,
        ...(dX && inputScratch ? { dX, ...inputScratch } : {}),
      };
      return [...calls, ...conv2dBackward(args, ctx.matmulPolicy)];
    },
  },

  dense: {
    // y = act(x·Wᵀ + b), x [N, in], W [out, in]
    forward: (node, ctx) => {
      const { rows: N, D: inputs } = lastAxis(ctx.value(inputOf(node)).shape);
      const { name, units, activation } = node.attrs;
      const args = {
        a: ctx.value(inputOf(node)),
        b: ctx.param(denseWeight(node)),
        out: ctx.value(node.id),
        M: N,
        K: inputs,
        N: units,
        transB: true,
        bias: ctx.param(`${name}.bias`),
        biasMode: 'col' as const,
        activation,
      };
      return [matmul(args, ctx.matmulPolicy)];
    },
    // dW = dPreᵀ·x, db = Σ_n dPre, dX = dPre·W
    backward: (node, ctx) => {
      const x = ctx.value(inputOf(node));
      const { rows: N, D: inputs } = lastAxis(x.shape);
      const { name, units, activation } = node.attrs;
      const { calls, dPre } = preActivationGrad(node, activation, ctx);
      calls.push(
        matmul(
          {
            a: dPre,
            b: x,
            out: ctx.paramGrad(denseWeight(node)),
            M: units,
            K: N,
            N: inputs,
            transA: true,
          },
          ctx.matmulPolicy,
        ),
      );
      calls.push(
        biasBackward({ dOut: dPre, dBias: ctx.paramGrad(`${name}.bias`), N, C: units, S: 1 }),
      );
      const dX = ctx.inputGrad(node);
      if (dX)
        calls.push(
          matmul(
            { a: dPre, b: ctx.param(denseWeight(node)), out: dX, M: N, K: units, N: inputs },
            ctx.matmulPolicy,
          ),
        );
      return calls;
    },
  },

  activation: {
    forward: (node, ctx) => [
      activationForward({
        x: ctx.value(inputOf(node)),
        y: ctx.value(node.id),
        activation: node.attrs.activation,
      }),
    ],
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
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
      const [x, y] = [ctx.value(inputOf(node)), ctx.value(node.id)];
      return [dropoutForward({ x, step: ctx.step(), y, rate, seed, layer })];
    },
    // dX = dY·mask/(1-p), the mask recomputed from the same (seed, step, layer)
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
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
          x: ctx.value(inputOf(node)),
          out: ctx.value(node.id),
          argmax,
          geometry: node.attrs.geometry,
        }),
      ];
    },
    // dX gathers dY from the windows whose argmax is this element; when the layer before is a
    // conv or dense with an activation, times f' (that layer then skips its activationBackward)
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      if (!dX) return [];
      const argmax = ctx.scratch(node.id, 'argmax', node.shape, 'u32');
      return [
        maxPoolBackward({
          dOut: need(ctx.grad(node.id), 'pool gradient'),
          argmax,
          dX,
          geometry: node.attrs.geometry,
          activation: activationFoldedIntoPool(ctx.node(inputOf(node)), ctx),
          out: ctx.value(node.id),
        }),
      ];
    },
  },

  avgPool: {
    forward: (node, ctx) => [
      avgPoolForward({
        x: ctx.value(inputOf(node)),
        out: ctx.value(node.id),
        geometry: node.attrs.geometry,
      }),
    ],
    // dX = Σ over covering windows of dY / (KH·KW)
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
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

  add: {
    // out = f(a + b), b broadcast over H, W when 'spatial'
    forward: (node, ctx) => {
      const [N = 1, C = 1] = node.shape;
      const { broadcast, activation } = node.attrs;
      const a = ctx.value(inputOf(node, 0));
      const args = { a, b: ctx.value(inputOf(node, 1)), out: ctx.value(node.id), N, C };
      return [addForward({ ...args, S: spatialSize(node.shape), broadcast, activation })];
    },
    // dA = dPre; dB = dPre, or its sum over H, W when b was broadcast
    backward: (node, ctx) => {
      const { calls, dPre } = preActivationGrad(node, node.attrs.activation, ctx);
      const [dA, dB] = [ctx.inputGrad(node, 0), ctx.inputGrad(node, 1)];
      const count = dPre.shape.reduce((x, y) => x * y, 1);
      const [N = 1, C = 1] = node.shape;
      if (node.attrs.broadcast === 'spatial') {
        if (dA) calls.push(addCopy({ source: dPre, target: dA, count }));
        if (dB) calls.push(addSpatialSum({ dOut: dPre, dB, N, C, S: spatialSize(node.shape) }));
      } else if (dA && dB) calls.push(addBackward({ dOut: dPre, dA, dB, count }));
      else if (dA ?? dB) calls.push(addCopy({ source: dPre, target: need(dA ?? dB, 'dA'), count }));
      return calls;
    },
  },

  concat: {
    // out[:, offset_k : offset_k + C_k] = x_k, one call per input
    forward: (node, ctx) =>
      concatSlices(node, (id) => ctx.node(id).shape).map((s) =>
        concatForward({ x: ctx.value(s.id), out: ctx.value(node.id), ...s.dims }),
      ),
    // dX_k = dOut[:, offset_k : offset_k + C_k]
    backward: (node, ctx) => {
      const dOut = need(ctx.grad(node.id), 'concat gradient');
      return concatSlices(node, (id) => ctx.node(id).shape).flatMap((s) => {
        const dX = ctx.inputGrad(node, s.index);
        return dX ? [concatBackward({ dOut, dX, ...s.dims })] : [];
      });
    },
  },

  batchNorm: {
    // Training: batch mean and biased variance, then y = f(xhat·w + b), then the running
    // statistics (unbiased variance, torch's momentum). Evaluation: the running statistics.
    forward: (node, ctx) => {
      const t = batchNormTensors(node, ctx);
      const { activation } = node.attrs;
      const normalize = (mean: GpuTensor, variance: GpuTensor): KernelCall =>
        batchNormForward({ ...t.common, mean, variance, bias: t.bias, y: t.y, activation });
      if (!ctx.training) return [normalize(t.runningMean, t.runningVar)];
      const { x, N, C, S } = t.common;
      return [
        batchNormStats({ x, mean: t.mean, variance: t.variance, N, C, S }, ctx.channelSumLanes),
        normalize(t.mean, t.variance),
        batchNormRunningUpdate({
          mean: t.mean,
          variance: t.variance,
          runningMean: t.runningMean,
          runningVar: t.runningVar,
          C,
          count: N * S,
          momentum: node.attrs.momentum,
        }),
      ];
    },
    // dBias = Σ dPre, dWeight = Σ dPre·xhat, dX = w·invStd/M · (M·dPre - dBias - xhat·dWeight)
    backward: (node, ctx) => {
      const t = batchNormTensors(node, ctx);
      const { calls, dPre } = preActivationGrad(node, node.attrs.activation, ctx);
      const dX = ctx.inputGrad(node);
      const args = {
        ...t.common,
        dY: dPre,
        mean: t.mean,
        variance: t.variance,
        dWeight: ctx.paramGrad(`${node.attrs.name}.weight`),
        dBias: ctx.paramGrad(`${node.attrs.name}.bias`),
        ...(dX ? { dX } : {}),
      };
      return [...calls, ...batchNormBackward(args, ctx.channelSumLanes)];
    },
  },

  globalAvgPool: {
    // out[n, c] = mean over H, W of x[n, c]
    forward: (node, ctx) => {
      const x = ctx.value(inputOf(node));
      const [N = 1, C = 1] = x.shape;
      const S = spatialSize(x.shape);
      return [globalAvgPoolForward({ x, out: ctx.value(node.id), N, C, S })];
    },
    // dX[n, c, h, w] = dOut[n, c] / (H·W)
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      if (!dX) return [];
      const [N = 1, C = 1] = dX.shape;
      const dOut = need(ctx.grad(node.id), 'pool gradient');
      return [globalAvgPoolBackward({ dOut, dX, N, C, S: spatialSize(dX.shape) })];
    },
  },

  softmaxCrossEntropy: {
    // Training fuses the gradient (softmax - onehot)/N into the forward dispatch.
    forward: (node, ctx) => {
      const logits = ctx.value(inputOf(node, 0));
      const { rows: N, D: K } = lastAxis(logits.shape);
      const labels = ctx.value(inputOf(node, 1));
      const loss = ctx.value(node.id);
      const dLogits = ctx.inputGrad(node, 0);
      const { ignoreIndex } = node.attrs;
      if (ctx.training && dLogits)
        return [
          softmaxCrossEntropyForwardBackward({ logits, labels, loss, dLogits, N, K, ignoreIndex }),
        ];
      return [softmaxCrossEntropyForward({ logits, labels, loss, N, K, ignoreIndex })];
    },
    backward: none,
  },

  mse: {
    forward: (node, ctx) => {
      const pred = ctx.value(inputOf(node, 0));
      const [N = 1, D = 1] = pred.shape;
      return [
        mseForward({ pred, target: ctx.value(inputOf(node, 1)), loss: ctx.value(node.id), N, D }),
      ];
    },
    // dPred = 2 (pred - target) / (N·D)
    backward: (node, ctx) => {
      const dPred = ctx.inputGrad(node, 0);
      if (!dPred) return [];
      const pred = ctx.value(inputOf(node, 0));
      const [N = 1, D = 1] = pred.shape;
      return [mseBackward({ pred, target: ctx.value(inputOf(node, 1)), dPred, N, D })];
    },
  },
};

/**
 * The rules of a graph's ops. imageRules and sequenceRules each cover their ops fully (a missing op
 * or direction is a type error there); a table here may lack the sequence ops when the graph has
 * none.
 */
export type OpRules = { [K in OpName]?: OpRule<K> };

/**
 * The rules a graph needs. The sequence ops' rules (and through them their kernels and shaders)
 * are a dynamic import, so a bundler splits them off and a page training a CNN never loads them.
 */
export async function loadOpRules(graph: Graph): Promise<OpRules> {
  const sequence = new Set<string>(SEQUENCE_OPS);
  if (!graph.nodes.some((n) => sequence.has(n.op))) return imageRules;
  const { sequenceRules } = await import('./sequenceRules');
  return { ...imageRules, ...sequenceRules };
}

/** The node's rule pair (the table types each op's entry by that op). */
export function ruleOf<K extends GraphNode['op']>(
  rules: OpRules,
  node: GraphNode<K>,
): {
  forward(n: GraphNode<K>, c: RuleContext): KernelCall[];
  backward(n: GraphNode<K>, c: RuleContext): KernelCall[];
} {
  const rule = rules[node.op];
  if (!rule) throw new Error(`internal: the rules of ${node.op} were not loaded for this graph`);
  return rule;
}
