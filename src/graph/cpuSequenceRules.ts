/**
 * The CPU reference's rules for the sequence ops (see sequenceRules.ts for the GPU's): the same
 * math with the CPU twins, so a transformer's GPU step has a CPU counterpart to compare against.
 */
import { ShadergradError } from '../base/errors';
import { elementCount } from '../gpu/tensor';
import type { GraphNode } from './graph';
import { inputOf, lastAxis, matmulDims, transposeDims } from './nodeShapes';
import { need, none, type CpuRule, type Run } from './cpuRun';
import type { SequenceOp } from './ops';
import {
  addCopyCpu,
  biasBackwardCpu,
  embeddingBackwardCpu,
  embeddingForwardCpu,
  geluBackwardCpu,
  geluForwardCpu,
  layerNormBackwardCpu,
  layerNormForwardCpu,
  matmulCpu,
  positionAddForwardCpu,
  softmaxBackwardCpu,
  softmaxForwardCpu,
  transposeCpu,
} from '../kernels/index';

/** The token ids fed to a tokens node, checked against its shape and vocabulary. */
function fedTokens(run: Run, node: GraphNode<'tokens'>): Uint32Array {
  const tokens = run.inputs.tokens;
  if (!tokens) throw new ShadergradError(`reference: no token ids fed for '${node.attrs.name}'`);
  if (tokens.length !== elementCount(node.shape))
    throw new ShadergradError(
      `reference: ${tokens.length} token ids for '${node.attrs.name}' [${node.shape.join(', ')}]`,
    );
  return tokens;
}

export const cpuSequenceRules: { [K in SequenceOp]: CpuRule<K> } = {
  // The ids live in run.inputs.tokens; the embedding reads them there.
  tokens: { forward: () => undefined, backward: none },
  reshape: { forward: (node, run) => run.x(node), backward: none }, // a view

  transpose: {
    forward: (node, run) => {
      const out = run.out(node);
      transposeCpu({ x: run.x(node), out, ...transposeDims(run.xShape(node)) });
      return out;
    },
    // dX = the same swap back
    backward: (node, run) => {
      const dX = run.inputGrad(node);
      if (dX) transposeCpu({ x: run.dY(node), out: dX, ...transposeDims(node.shape) });
    },
  },

  matmul: {
    forward: (node, run) => {
      const [a, b, out] = [run.value(inputOf(node, 0)), run.value(inputOf(node, 1)), run.out(node)];
      const dims = matmulDims(node, run.xShape(node));
      matmulCpu({ a, b, out, ...dims, transB: node.attrs.transB });
      return out;
    },
    // A·B: dA = dC·Bᵀ, dB = Aᵀ·dC. A·Bᵀ: dA = dC·B, dB = dCᵀ·A.
    backward: (node, run) => {
      const [a, b, dC] = [run.value(inputOf(node, 0)), run.value(inputOf(node, 1)), run.dY(node)];
      const { batch, M, K, N } = matmulDims(node, run.xShape(node));
      const [dA, dB, { transB }] = [run.inputGrad(node, 0), run.inputGrad(node, 1), node.attrs];
      if (dA) matmulCpu({ a: dC, b, out: dA, batch, M, K: N, N: K, transB: !transB });
      if (dB && transB) matmulCpu({ a: dC, b: a, out: dB, batch, M: N, K: M, N: K, transA: true });
      else if (dB) matmulCpu({ a, b: dC, out: dB, batch, M: K, K: M, N, transA: true });
    },
  },

  softmax: {
    forward: (node, run) => {
      const [y, { rows, D: L }, { scale, causal }] = [
        run.out(node),
        lastAxis(node.shape),
        node.attrs,
      ];
      softmaxForwardCpu({ x: run.x(node), y, rows, L, scale, causal });
      return y;
    },
    // dX = scale·y·(dY - Σ_j y·dY)
    backward: (node, run) => {
      const [dX, { rows, D: L }] = [run.inputGrad(node), lastAxis(node.shape)];
      const [y, dY, { scale }] = [run.value(node.id), run.dY(node), node.attrs];
      if (dX) softmaxBackwardCpu({ y, dY, dX, rows, L, scale });
    },
  },

  layerNorm: {
    forward: (node, run) => {
      const [{ name, eps }, { rows, D }, y] = [node.attrs, lastAxis(node.shape), run.out(node)];
      const [mean, rstd] = [run.alloc(rows), run.alloc(rows)];
      const [weight, bias] = [run.param(`${name}.weight`), run.param(`${name}.bias`)];
      layerNormForwardCpu({ x: run.x(node), weight, bias, y, mean, rstd, rows, D, eps });
      run.rowStats.set(node.id, { mean, rstd });
      return y;
    },
    // dX = rstd·(g - mean(g) - xhat·mean(g·xhat)), g = dY·weight; dWeight = Σ dY·xhat, dBias = Σ dY
    backward: (node, run) => {
      const [{ name }, { rows, D }, dX] = [node.attrs, lastAxis(node.shape), run.inputGrad(node)];
      layerNormBackwardCpu({
        x: run.x(node),
        weight: run.param(`${name}.weight`),
        ...need(run.rowStats.get(node.id), 'layer norm statistics'),
        dY: run.dY(node),
        ...(dX ? { dX } : {}),
        dWeight: run.paramGrad(`${name}.weight`),
        dBias: run.paramGrad(`${name}.bias`),
        rows,
        D,
      });
    },
  },

  gelu: {
    forward: (node, run) => {
      const y = run.out(node);
      geluForwardCpu({ x: run.x(node), y, approximate: node.attrs.approximate });
      return y;
    },
    // dX = dY·gelu'(x)
    backward: (node, run) => {
      const [dX, { approximate }] = [run.inputGrad(node), node.attrs];
      if (dX) geluBackwardCpu({ x: run.x(node), dY: run.dY(node), dX, approximate });
    },
  },

  embedding: {
    forward: (node, run) => {
      const { name, vocab: V, features: C } = node.attrs;
      const source = run.graph.get(inputOf(node)) as GraphNode<'tokens'>;
      const [tokens, out] = [fedTokens(run, source), run.out(node)];
      embeddingForwardCpu({
        tokens,
        table: run.param(`${name}.weight`),
        out,
        N: tokens.length,
        V,
        C,
      });
      return out;
    },
    // dWeight[v] = Σ over positions holding token v of dOut, in order
    backward: (node, run) => {
      const { name, vocab: V, features: C } = node.attrs;
      const tokens = fedTokens(run, run.graph.get(inputOf(node)) as GraphNode<'tokens'>);
      const dTable = run.paramGrad(`${name}.weight`);
      embeddingBackwardCpu({ tokens, dOut: run.dY(node), dTable, N: tokens.length, V, C });
    },
  },

  positionEmbedding: {
    forward: (node, run) => {
      const [B = 1, ...rest] = node.shape;
      const [out, pos] = [run.out(node), run.param(`${node.attrs.name}.weight`)];
      positionAddForwardCpu({ x: run.x(node), pos, out, B, P: elementCount(rest) });
      return out;
    },
    // dWeight = Σ_n dOut[n]; dX = dOut
    backward: (node, run) => {
      const [B = 1, ...rest] = node.shape;
      const [dOut, dX] = [run.dY(node), run.inputGrad(node)];
      const dBias = run.paramGrad(`${node.attrs.name}.weight`);
      biasBackwardCpu({ dOut, dBias, N: B, C: elementCount(rest), S: 1 });
      if (dX) addCopyCpu({ source: dOut, target: dX, count: dOut.length });
    },
  },
};
