/**
 * The CPU reference training step: a Graph (graph.ts) executed with the CPU twins of
 * src/kernels/*.cpu.ts, rule for rule the math of autodiff.ts, so every tensor of a GPU step has
 * a CPU counterpart to compare against (and a PyTorch golden file can check both).
 *
 * Conventions, as on the GPU: the loss is the batch mean (softmax cross-entropy's gradient is
 * (p - onehot)/N); a fused activation's backward reads its output y; flatten is a view, C,H,W
 * order; mse's targets come from the input node 'targets'; dropout's masks come from state.step
 * (steps completed, the GPU counter before this step's update), and referenceForward without a
 * step is evaluation, where dropout is a view of its input and batch norm uses its running
 * statistics (which only referenceTrainStep updates). Gradients flow to the nodes the executor
 * gives them (Graph.gradientNodes); a node feeding several uses gets the sum of their gradients,
 * added in the executor's order (Graph.gradientUses). Precision 'f32' stores every intermediate in
 * a Float32Array, rounding where the GPU rounds; 'f64' uses Float64Array, a smooth function of the
 * parameters for finite differences; 'mixed' is 'f32' with convolutions reading their input
 * rounded to f16, as a plan compiled with precision 'f16' does.
 */
import { ShadergradError } from '../base/errors';
import type { Graph, GraphNode, OpName } from './graph';
import { concatSlices, denseWeight, inputOf, lastAxis, spatialSize } from './nodeShapes';
import { elementCount } from '../gpu/tensor';
import { cpuSequenceRules } from './cpuSequenceRules';
import type { SequenceOp } from './ops';
import {
  need,
  none,
  Run,
  type CpuRule,
  type ReferenceInputs,
  type ReferencePrecision,
  type ReferenceState,
  type ReferenceStepResult,
} from './cpuRun';
import {
  activationBackwardCpu,
  activationForwardCpu,
  addCopyCpu,
  addForwardCpu,
  addSpatialSumCpu,
  batchNormBackwardCpu,
  batchNormForwardCpu,
  batchNormRunningUpdateCpu,
  batchNormStatsCpu,
  concatBackwardCpu,
  concatForwardCpu,
  globalAvgPoolBackwardCpu,
  globalAvgPoolForwardCpu,
  avgPoolBackwardCpu,
  avgPoolForwardCpu,
  biasBackwardCpu,
  conv2dBackwardCpu,
  conv2dForwardCpu,
  dropoutBackwardCpu,
  dropoutForwardCpu,
  lossMeanCpu,
  matmulCpu,
  maxPoolBackwardCpu,
  maxPoolForwardCpu,
  mseBackwardCpu,
  mseForwardCpu,
  clipGradNormCpu,
  optimizerConfigFor,
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  softmaxCrossEntropyBackwardCpu,
  softmaxCrossEntropyForwardCpu,
  keptRows,
  type Activation,
  type FloatArray,
  type OptimizerConfig,
} from '../kernels/index';

export type { ReferenceInputs, ReferencePrecision, ReferenceState, ReferenceStepResult };

/** dL/d(pre-activation) = f'(pre) * dY, computed from the output y; dY itself when f = none. */
function preActivationGrad(node: GraphNode, activation: Activation, run: Run): FloatArray {
  if (activation === 'none') return run.dY(node);
  const dPre = run.out(node);
  activationBackwardCpu({ y: run.value(node.id), dY: run.dY(node), dX: dPre, activation });
  return dPre;
}

/** The array fed to an input node: 'images', or 'targets' (mse's [N, D]). */
function fed(run: Run, name: string): FloatArray {
  const data =
    name === 'images' ? run.inputs.images : name === 'targets' ? run.inputs.targets : undefined;
  if (!data)
    throw new ShadergradError(`reference: no data for input '${name}' (fed: images, targets)`);
  return data;
}

const cpuImageRules: { [K in Exclude<OpName, SequenceOp>]: CpuRule<K> } = {
  input: {
    forward: (node, run) => {
      const x = run.out(node);
      x.set(fed(run, node.attrs.name)); // f32 mode rounds as an upload would
      return x;
    },
    backward: none,
  },
  // Class ids live in run.inputs.labels; the loss rules read them there.
  labels: { forward: () => undefined, backward: none },
  // A view: value and gradient alias the input's.
  flatten: { forward: (node, run) => run.x(node), backward: none },

  conv2d: {
    forward: (node, run) => {
      const { name, features, geometry, activation } = node.attrs;
      const [out, x] = [run.out(node), run.colsSource(node)];
      const weight = run.param(`${name}.weight`);
      const bias = node.attrs.bias ? { bias: run.param(`${name}.bias`) } : {};
      conv2dForwardCpu({ x, weight, ...bias, out, geometry, O: features });
      activationForwardCpu({ x: out, y: out, activation }); // elementwise, so in place
      return out;
    },
    // dW = Σ dPre·x (per tap), dB = Σ dPre, dX = Σ W·dPre
    backward: (node, run) => {
      const { name, features, geometry, activation } = node.attrs;
      const [dOut, dX] = [preActivationGrad(node, activation, run), run.inputGrad(node)];
      const [weight, dWeight] = [run.param(`${name}.weight`), run.paramGrad(`${name}.weight`)];
      const x = run.colsSource(node); // dWeight's factor; dX does not read x
      const dBias = node.attrs.bias ? { dBias: run.paramGrad(`${name}.bias`) } : {};
      const args = { x, weight, dOut, dWeight, ...dBias, geometry, O: features };
      conv2dBackwardCpu(dX ? { ...args, dX } : args);
    },
  },

  dense: {
    // y = act(x·Wᵀ + b), x [N, in], W [out, in]
    forward: (node, run) => {
      const a = run.x(node);
      const { rows: N, D: K } = lastAxis(run.xShape(node));
      const { name, units, activation } = node.attrs;
      const [out, b] = [run.out(node), run.param(denseWeight(node))];
      const bias = run.param(`${name}.bias`);
      matmulCpu({ a, b, out, M: N, K, N: units, transB: true, bias, biasMode: 'col', activation });
      return out;
    },
    // dW = dPreᵀ·x, db = Σ_n dPre, dX = dPre·W
    backward: (node, run) => {
      const x = run.x(node);
      const { rows: N, D: inputs } = lastAxis(run.xShape(node));
      const { name, units, activation } = node.attrs;
      const [dPre, dX] = [preActivationGrad(node, activation, run), run.inputGrad(node)];
      const [weight, dWeight] = [run.param(denseWeight(node)), run.paramGrad(denseWeight(node))];
      matmulCpu({ a: dPre, b: x, out: dWeight, M: units, K: N, N: inputs, transA: true });
      biasBackwardCpu({ dOut: dPre, dBias: run.paramGrad(`${name}.bias`), N, C: units, S: 1 });
      if (dX) matmulCpu({ a: dPre, b: weight, out: dX, M: N, K: units, N: inputs });
    },
  },

  activation: {
    forward: (node, run) => {
      const y = run.out(node);
      activationForwardCpu({ x: run.x(node), y, activation: node.attrs.activation });
      return y;
    },
    backward: (node, run) => {
      const [y, dX, { activation }] = [run.value(node.id), run.inputGrad(node), node.attrs];
      if (dX) activationBackwardCpu({ y, dY: run.dY(node), dX, activation });
    },
  },

  dropout: {
    // Training: y = x·mask/(1-p) with the mask of this step. Evaluation: a view of x.
    forward: (node, run) => {
      if (run.step === undefined) return run.x(node);
      const [y, { rate, seed, layer }] = [run.out(node), node.attrs];
      dropoutForwardCpu({ x: run.x(node), step: [run.step], y, rate, seed, layer });
      return y;
    },
    // dX = dY·mask/(1-p), the same mask recomputed
    backward: (node, run) => {
      const [dX, { rate, seed, layer }] = [run.inputGrad(node), node.attrs];
      const step = [need(run.step, 'the step count')];
      if (dX) dropoutBackwardCpu({ dY: run.dY(node), step, dX, rate, seed, layer });
    },
  },

  maxPool: {
    forward: (node, run) => {
      const [out, argmax] = [run.out(node), new Uint32Array(elementCount(node.shape))];
      maxPoolForwardCpu({ x: run.x(node), out, argmax, geometry: node.attrs.geometry });
      run.argmax.set(node.id, argmax);
      return out;
    },
    // dX gathers dY from the windows whose argmax is this element
    backward: (node, run) => {
      const [dX, argmax] = [run.inputGrad(node), need(run.argmax.get(node.id), 'argmax')];
      if (dX) maxPoolBackwardCpu({ dOut: run.dY(node), argmax, dX, geometry: node.attrs.geometry });
    },
  },

  avgPool: {
    forward: (node, run) => {
      const out = run.out(node);
      avgPoolForwardCpu({ x: run.x(node), out, geometry: node.attrs.geometry });
      return out;
    },
    // dX = Σ over covering windows of dY / (KH·KW)
    backward: (node, run) => {
      const dX = run.inputGrad(node);
      if (dX) avgPoolBackwardCpu({ dOut: run.dY(node), dX, geometry: node.attrs.geometry });
    },
  },

  add: {
    forward: (node, run) => {
      const [N = 1, C = 1] = node.shape;
      const [a, b, out] = [run.value(inputOf(node, 0)), run.value(inputOf(node, 1)), run.out(node)];
      const { broadcast, activation } = node.attrs;
      addForwardCpu({ a, b, out, N, C, S: spatialSize(node.shape), broadcast, activation });
      return out;
    },
    // dA = dPre; dB = dPre, or its sum over H, W when b was broadcast
    backward: (node, run) => {
      const dPre = preActivationGrad(node, node.attrs.activation, run);
      const [dA, dB] = [run.inputGrad(node, 0), run.inputGrad(node, 1)];
      const [N = 1, C = 1] = node.shape;
      if (dA) addCopyCpu({ source: dPre, target: dA, count: dPre.length });
      if (dB && node.attrs.broadcast === 'spatial')
        addSpatialSumCpu({ dOut: dPre, dB, N, C, S: spatialSize(node.shape) });
      else if (dB) addCopyCpu({ source: dPre, target: dB, count: dPre.length });
    },
  },

  concat: {
    forward: (node, run) => {
      const out = run.out(node);
      for (const s of concatSlices(node, (id) => run.graph.get(id).shape))
        concatForwardCpu({ x: run.value(s.id), out, ...s.dims });
      return out;
    },
    // dX_k = dOut[:, offset_k : offset_k + C_k]
    backward: (node, run) => {
      for (const s of concatSlices(node, (id) => run.graph.get(id).shape)) {
        const dX = run.inputGrad(node, s.index);
        if (dX) concatBackwardCpu({ dOut: run.dY(node), dX, ...s.dims });
      }
    },
  },

  batchNorm: {
    // Training: the batch's statistics (and, in a training step, the running ones updated);
    // evaluation: the running statistics.
    forward: (node, run) => {
      const { name, features: C, eps, momentum, activation } = node.attrs;
      const [x, y, N, S] = [
        run.x(node),
        run.out(node),
        node.shape[0] ?? 1,
        spatialSize(node.shape),
      ];
      const [weight, bias] = [run.param(`${name}.weight`), run.param(`${name}.bias`)];
      const runningMean = run.param(`${name}.running_mean`);
      const runningVar = run.param(`${name}.running_var`);
      const common = { x, weight, bias, y, N, C, S, eps, activation };
      if (!run.training) {
        batchNormForwardCpu({ ...common, mean: runningMean, variance: runningVar });
        return y;
      }
      const [mean, variance] = [run.alloc(C), run.alloc(C)];
      batchNormStatsCpu({ x, mean, variance, N, C, S });
      batchNormForwardCpu({ ...common, mean, variance });
      run.batchStats.set(node.id, { mean, variance });
      if (run.updatesRunningStats)
        batchNormRunningUpdateCpu({
          mean,
          variance,
          runningMean,
          runningVar,
          C,
          count: N * S,
          momentum,
        });
      return y;
    },
    // dBias = Σ dPre, dWeight = Σ dPre·xhat, dX = w·invStd/M · (M·dPre - dBias - xhat·dWeight)
    backward: (node, run) => {
      const { name, features: C, eps } = node.attrs;
      const stats = need(run.batchStats.get(node.id), 'batch statistics');
      const dX = run.inputGrad(node);
      batchNormBackwardCpu({
        x: run.x(node),
        dY: preActivationGrad(node, node.attrs.activation, run),
        ...stats,
        weight: run.param(`${name}.weight`),
        dWeight: run.paramGrad(`${name}.weight`),
        dBias: run.paramGrad(`${name}.bias`),
        ...(dX ? { dX } : {}),
        N: node.shape[0] ?? 1,
        C,
        S: spatialSize(node.shape),
        eps,
      });
    },
  },

  globalAvgPool: {
    forward: (node, run) => {
      const out = run.out(node);
      const [N = 1, C = 1] = run.xShape(node);
      globalAvgPoolForwardCpu({ x: run.x(node), out, N, C, S: spatialSize(run.xShape(node)) });
      return out;
    },
    // dX[n, c, h, w] = dOut[n, c] / (H·W)
    backward: (node, run) => {
      const dX = run.inputGrad(node);
      const [N = 1, C = 1] = run.xShape(node);
      const S = spatialSize(run.xShape(node));
      if (dX) globalAvgPoolBackwardCpu({ dOut: run.dY(node), dX, N, C, S });
    },
  },

  softmaxCrossEntropy: {
    forward: (node, run) => {
      const logits = run.x(node);
      const { rows: N, D: K } = lastAxis(run.xShape(node));
      const loss = run.out(node);
      const { ignoreIndex } = node.attrs;
      softmaxCrossEntropyForwardCpu({ logits, labels: run.inputs.labels, loss, N, K, ignoreIndex });
      return loss;
    },
    // dLogits = (softmax - onehot(label)) / M over the M rows kept (the GPU fuses this into its
    // forward dispatch)
    backward: (node, run) => {
      const logits = run.x(node);
      const { rows: N, D: K } = lastAxis(run.xShape(node));
      const [dLogits, labels] = [run.inputGrad(node), run.inputs.labels];
      const { ignoreIndex } = node.attrs;
      if (dLogits) softmaxCrossEntropyBackwardCpu({ logits, labels, dLogits, N, K, ignoreIndex });
    },
  },

  mse: {
    forward: (node, run) => {
      const pred = run.x(node);
      const [N = 1, D = 1] = run.xShape(node);
      const loss = run.out(node);
      mseForwardCpu({ pred, target: run.value(inputOf(node, 1)), loss, N, D });
      return loss;
    },
    // dPred = 2 (pred - target) / (N·D)
    backward: (node, run) => {
      const pred = run.x(node);
      const [N = 1, D = 1] = run.xShape(node);
      const dPred = run.inputGrad(node);
      const target = run.value(inputOf(node, 1));
      if (dPred) mseBackwardCpu({ pred, target, dPred, N, D });
    },
  },
};

const cpuRules: { [K in OpName]: CpuRule<K> } = { ...cpuImageRules, ...cpuSequenceRules };

function expectLength(what: string, got: number, want: number): void {
  if (got !== want)
    throw new ShadergradError(`reference: ${what} holds ${got} values, expected ${want}`);
}

/** Runs every forward rule in graph order; returns the batch-mean loss. */
function forwardPass(run: Run): number {
  const loss = run.graph.lossNode();
  for (const n of run.graph.nodes) {
    if (n.op === 'input') {
      const { name } = n.attrs as { name: string };
      expectLength(`${name} [${n.shape.join(', ')}]`, fed(run, name).length, elementCount(n.shape));
    }
    if (n.op === 'labels') expectLength('labels', run.inputs.labels.length, elementCount(n.shape));
    for (const p of n.params)
      expectLength(
        `'${p.name}' [${p.shape.join(', ')}]`,
        run.param(p.name).length,
        elementCount(p.shape),
      );
  }
  for (const n of run.graph.nodes) {
    const out = (cpuRules[n.op] as CpuRule<OpName>).forward(n, run);
    if (out) run.values.set(n.id, out);
  }
  // Per-sample cross-entropies average over the rows kept (all but ignoreIndex's); mse's partial
  // sums are already scaled.
  const [total, N] = [run.alloc(1), loss.shape[0] ?? 1];
  const scale =
    loss.op === 'mse'
      ? 1
      : 1 /
        keptRows(
          run.inputs.labels,
          N,
          (loss as GraphNode<'softmaxCrossEntropy'>).attrs.ignoreIndex,
        );
  lossMeanCpu({ loss: run.value(loss.id), total, N, scale });
  return total[0] ?? NaN;
}

/**
 * The forward pass alone: every node's output and the batch-mean loss. In evaluation mode unless
 * `trainingStep` (optimizer steps completed) is given: then dropout applies that step's masks.
 */
export function referenceForward(
  graph: Graph,
  params: ReadonlyMap<string, FloatArray>,
  inputs: ReferenceInputs,
  precision: ReferencePrecision = 'f32',
  trainingStep?: number,
): { values: Map<number, FloatArray>; loss: number } {
  const run = new Run(graph, params, inputs, precision, new Set(), trainingStep);
  const loss = forwardPass(run);
  return { values: run.values, loss };
}

/**
 * One training step: forward, backward in reverse graph order, then the optimizer update of
 * state.params (in place, along with state.optimizerState and state.step).
 */
export function referenceTrainStep(
  graph: Graph,
  state: ReferenceState,
  inputs: ReferenceInputs,
  optimizer: OptimizerConfig,
  precision: ReferencePrecision = 'f32',
  /** Nodes (inputs or activations) whose gradient to compute too, as the executor's option. */
  gradientsFor: readonly number[] = [],
): ReferenceStepResult {
  const needs = graph.gradientNodes(gradientsFor);
  const run = new Run(graph, state.params, inputs, precision, needs, state.step, true);
  const loss = forwardPass(run);
  for (const n of [...graph.nodes].reverse()) {
    if (!needs.has(n.id)) continue;
    run.beginBackward(n);
    (cpuRules[n.op] as CpuRule<OpName>).backward(n, run);
    run.beginBackward(undefined);
    run.addParts(n);
  }
  const step = [state.step];
  optimizerStepBeginCpu({ step });
  const trainable = graph.parameters().filter((p) => p.trainable !== false);
  if (optimizer.clipGradNorm !== undefined) {
    const grads = trainable.map((spec) => run.paramGrad(spec.name)); // clipped in place, as torch
    const clip = new Float64Array(grads.length + 2);
    clipGradNormCpu({ grads, clip, maxNorm: optimizer.clipGradNorm });
  }
  for (const spec of trainable) {
    const [param, grad] = [run.param(spec.name), run.paramGrad(spec.name)];
    let slots = state.optimizerState.get(spec.name);
    if (!slots) {
      slots = Array.from({ length: optimizerStateSlots(optimizer.kind) }, () =>
        run.alloc(grad.length),
      );
      state.optimizerState.set(spec.name, slots);
    }
    const config = optimizerConfigFor(optimizer, spec.shape);
    optimizerUpdateCpu({ grad, step, param, state: slots, config });
  }
  state.step = step[0] ?? state.step + 1;
  return { loss, values: run.values, grads: run.grads, nodeGrads: run.nodeGrads };
}
