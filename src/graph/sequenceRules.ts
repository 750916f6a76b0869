/**
 * Forward and backward rules of the sequence ops (transformers): token ids, embeddings, views,
 * batched products of activations, softmax, layer norm and GELU. The same contract as the image
 * ops' table in autodiff.ts (see ruleContext.ts), merged with it there. Only loadOpRules imports
 * this module, and only for a graph that uses one of these ops.
 */
import { elementCount } from '../gpu/tensor';
import type { KernelCall } from '../gpu/dispatch';
import type { GpuTensor } from '../gpu/tensor';
import type { GraphNode } from './graph';
import type { SequenceOp } from './ops';
import { inputOf, lastAxis, matmulDims, transposeDims } from './nodeShapes';
import { need, none, type OpRule, type RuleContext } from './ruleContext';
import {
  addCopy,
  biasBackward,
  embeddingBackward,
  embeddingForward,
  geluBackward,
  geluForward,
  layerNormBackward,
  layerNormForward,
  matmul,
  positionAddForward,
  softmaxBackward,
  softmaxForward,
  transpose,
  type MatmulArgs,
} from '../kernels/index';

function layerNormTensors(node: GraphNode<'layerNorm'>, ctx: RuleContext) {
  const { rows, D } = lastAxis(node.shape);
  return {
    x: ctx.value(inputOf(node)),
    weight: ctx.param(`${node.attrs.name}.weight`),
    // the rows' statistics, kept from the forward for the backward
    mean: ctx.scratch(node.id, 'mean', [rows]),
    rstd: ctx.scratch(node.id, 'rstd', [rows]),
    rows,
    D,
  };
}

export const sequenceRules: { [K in SequenceOp]: OpRule<K> } = {
  tokens: { forward: none, backward: none },
  reshape: { forward: none, backward: none }, // a view: value and grad alias the input's

  transpose: {
    forward: (node, ctx) => {
      const x = ctx.value(inputOf(node));
      return [transpose({ x, out: ctx.value(node.id), ...transposeDims(x.shape) })];
    },
    // dX = dOutᵀ: the same swap back, [A, C, B, D] -> [A, B, C, D]
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      if (!dX) return [];
      const dOut = need(ctx.grad(node.id), 'transpose gradient');
      return [transpose({ x: dOut, out: dX, ...transposeDims(node.shape) })];
    },
  },

  matmul: {
    // C = A·B, or A·Bᵀ, per batch
    forward: (node, ctx) => {
      const [a, b] = [ctx.value(inputOf(node, 0)), ctx.value(inputOf(node, 1))];
      const dims = matmulDims(node, a.shape);
      const args = { a, b, out: ctx.value(node.id), ...dims, transB: node.attrs.transB };
      return [matmul(args, ctx.matmulPolicy)];
    },
    // A·B: dA = dC·Bᵀ, dB = Aᵀ·dC. A·Bᵀ: dA = dC·B, dB = dCᵀ·A.
    backward: (node, ctx) => {
      const [a, b] = [ctx.value(inputOf(node, 0)), ctx.value(inputOf(node, 1))];
      const { batch, M, K, N } = matmulDims(node, a.shape);
      const dC = need(ctx.grad(node.id), 'matmul gradient');
      const [dA, dB] = [ctx.inputGrad(node, 0), ctx.inputGrad(node, 1)];
      const { transB } = node.attrs;
      const product = (args: MatmulArgs<GpuTensor>): KernelCall => matmul(args, ctx.matmulPolicy);
      const calls: KernelCall[] = [];
      if (dA) calls.push(product({ a: dC, b, out: dA, batch, M, K: N, N: K, transB: !transB }));
      if (dB && transB)
        calls.push(product({ a: dC, b: a, out: dB, batch, M: N, K: M, N: K, transA: true }));
      else if (dB) calls.push(product({ a, b: dC, out: dB, batch, M: K, K: M, N, transA: true }));
      return calls;
    },
  },

  softmax: {
    forward: (node, ctx) => {
      const { rows, D: L } = lastAxis(node.shape);
      const { scale, causal } = node.attrs;
      const [x, y] = [ctx.value(inputOf(node)), ctx.value(node.id)];
      return [softmaxForward({ x, y, rows, L, scale, causal })];
    },
    // dX = scale·y·(dY - Σ_j y·dY), from the output alone
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      if (!dX) return [];
      const { rows, D: L } = lastAxis(node.shape);
      const dY = need(ctx.grad(node.id), 'softmax gradient');
      return [softmaxBackward({ y: ctx.value(node.id), dY, dX, rows, L, scale: node.attrs.scale })];
    },
  },

  layerNorm: {
    // y = (x - mean)·rstd·weight + bias per row, mean and rstd kept for the backward
    forward: (node, ctx) => {
      const t = layerNormTensors(node, ctx);
      const bias = ctx.param(`${node.attrs.name}.bias`);
      return [layerNormForward({ ...t, bias, y: ctx.value(node.id), eps: node.attrs.eps })];
    },
    // dX = rstd·(g - mean(g) - xhat·mean(g·xhat)), g = dY·weight; dWeight = Σ dY·xhat, dBias = Σ dY
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      const { name } = node.attrs;
      const args = {
        ...layerNormTensors(node, ctx),
        dY: need(ctx.grad(node.id), 'layer norm gradient'),
        dWeight: ctx.paramGrad(`${name}.weight`),
        dBias: ctx.paramGrad(`${name}.bias`),
        ...(dX ? { dX } : {}),
      };
      return layerNormBackward(args);
    },
  },

  gelu: {
    forward: (node, ctx) => [
      geluForward({
        x: ctx.value(inputOf(node)),
        y: ctx.value(node.id),
        approximate: node.attrs.approximate,
      }),
    ],
    // dX = dY·gelu'(x), from the input (GELU is not invertible)
    backward: (node, ctx) => {
      const dX = ctx.inputGrad(node);
      if (!dX) return [];
      const dY = need(ctx.grad(node.id), 'gelu gradient');
      const { approximate } = node.attrs;
      return [geluBackward({ x: ctx.value(inputOf(node)), dY, dX, approximate })];
    },
  },

  embedding: {
    // out[n, :] = weight[tokens[n]]
    forward: (node, ctx) => {
      const { name, vocab: V, features: C } = node.attrs;
      const tokens = ctx.value(inputOf(node));
      const [table, out] = [ctx.param(`${name}.weight`), ctx.value(node.id)];
      return [embeddingForward({ tokens, table, out, N: elementCount(tokens.shape), V, C })];
    },
    // dWeight[v] = Σ over positions n holding token v of dOut[n], in the order of n
    backward: (node, ctx) => {
      const { name, vocab: V, features: C } = node.attrs;
      const tokens = ctx.value(inputOf(node));
      const dOut = need(ctx.grad(node.id), 'embedding gradient');
      const dTable = ctx.paramGrad(`${name}.weight`);
      return [embeddingBackward({ tokens, dOut, dTable, N: elementCount(tokens.shape), V, C })];
    },
  },

  positionEmbedding: {
    // out[n, t, c] = x[n, t, c] + weight[t, c]
    forward: (node, ctx) => {
      const [B = 1, ...rest] = node.shape;
      const pos = ctx.param(`${node.attrs.name}.weight`);
      const [x, out] = [ctx.value(inputOf(node)), ctx.value(node.id)];
      return [positionAddForward({ x, pos, out, B, P: elementCount(rest) })];
    },
    // dWeight = Σ_n dOut[n] (the bias gradient over a batch of [T·C] rows); dX = dOut
    backward: (node, ctx) => {
      const [B = 1, ...rest] = node.shape;
      const dOut = need(ctx.grad(node.id), 'position embedding gradient');
      const dPos = ctx.paramGrad(`${node.attrs.name}.weight`);
      const calls = [biasBackward({ dOut, dBias: dPos, N: B, C: elementCount(rest), S: 1 })];
      const dX = ctx.inputGrad(node);
      if (dX) calls.push(addCopy({ source: dOut, target: dX, count: elementCount(node.shape) }));
      return calls;
    },
  },
};
