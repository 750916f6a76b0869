/**
 * The CPU reference training step: a Graph (graph.ts) executed with the CPU twins of
 * src/kernels/*.cpu.ts, rule for rule the math of autodiff.ts, so every tensor of a GPU step has
 * a CPU counterpart to compare against (and a PyTorch golden file can check both).
 *
 * Conventions, as on the GPU: the loss is the batch mean (softmax cross-entropy's gradient is
 * (p - onehot)/N); a fused activation's backward reads its output y; flatten is a view, C,H,W
 * order; mse's targets come from the input node 'targets'; dropout's masks come from state.step
 * (steps completed, the GPU counter before this step's update), and referenceForward without a
 * step is evaluation, where dropout is a view of its input. Gradients flow only to nodes
 * downstream of a parameter, and each node may feed one consumer (chains), as in the executor. Precision 'f32' stores every intermediate in a Float32Array, rounding where the GPU
 * rounds; 'f64' uses Float64Array, a smooth function of the parameters for finite differences.
 */
import { ShadergradError } from '../base/errors';
import type { Graph, GraphNode, OpName } from './graph';
import {
  activationBackwardCpu,
  activationForwardCpu,
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
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  softmaxCrossEntropyBackwardCpu,
  softmaxCrossEntropyForwardCpu,
  type Activation,
  type FloatArray,
  type OptimizerConfig,
} from '../kernels/index';

export type ReferencePrecision = 'f32' | 'f64';

/** One batch, by input node name: 'images', 'labels' (class ids) and, for mse, 'targets'. */
export interface ReferenceInputs {
  images: FloatArray;
  labels: Int32Array;
  /** [N, D] for an input node named 'targets' (mse's second input). */
  targets?: FloatArray;
}

/** Parameters by PyTorch name, the model's trainable state, and Adam's t. */
export interface ReferenceState {
  params: Map<string, Float64Array | Float32Array>;
  /** optimizerStateSlots(kind) arrays per parameter; missing entries start at zero. */
  optimizerState: Map<string, FloatArray[]>;
  /** Optimizer steps taken so far. */
  step: number;
}

export interface ReferenceStepResult {
  /** Mean loss of the batch, before the update. */
  loss: number;
  /** Node id -> forward output (per-sample loss for the loss node; labels are not included). */
  values: Map<number, FloatArray>;
  /** Parameter name -> dLoss/dParameter. */
  grads: Map<string, FloatArray>;
  /** Node id -> dLoss/d(output), for the nodes downstream of a parameter. */
  nodeGrads: Map<number, FloatArray>;
}

/** The tensors of one step; rules read and create them through it. */
class Run {
  readonly values = new Map<number, FloatArray>();
  readonly nodeGrads = new Map<number, FloatArray>();
  readonly grads = new Map<string, FloatArray>();
  /** maxPool node id -> the forward's argmax. */
  readonly argmax = new Map<number, Uint32Array>();

  constructor(
    readonly graph: Graph,
    readonly params: ReadonlyMap<string, FloatArray>,
    readonly inputs: ReferenceInputs,
    readonly precision: ReferencePrecision,
    private readonly needsGrad: ReadonlySet<number> = new Set(),
    /** Optimizer steps completed, in training (dropout draws its mask from it); else undefined. */
    readonly step?: number,
  ) {}

  alloc(length: number): FloatArray {
    return this.precision === 'f64' ? new Float64Array(length) : new Float32Array(length);
  }

  /** A new array for the node's output. */
  out(node: GraphNode): FloatArray {
    return this.alloc(size(node.shape));
  }

  value(id: number): FloatArray {
    return need(this.values.get(id), `value of node ${id}`);
  }

  /** The value of the node's first input. */
  x(node: GraphNode): FloatArray {
    return this.value(input(node));
  }

  /** The shape of the node's first input. */
  xShape(node: GraphNode): readonly number[] {
    return this.graph.get(input(node)).shape;
  }

  /** dLoss/d(output of node id), zero on first use; undefined when no parameter is upstream. */
  grad(id: number): FloatArray | undefined {
    if (!this.needsGrad.has(id)) return undefined;
    const node = this.graph.get(id);
    let g = this.nodeGrads.get(id);
    if (!g) g = node.op === 'flatten' ? this.grad(input(node)) : this.out(node);
    if (g) this.nodeGrads.set(id, g); // flatten: the same array as its input's gradient
    return g;
  }

  /** The gradient of the node's own output, which its consumer has completed. */
  dY(node: GraphNode): FloatArray {
    return need(this.grad(node.id), `gradient of node ${node.id}`);
  }

  param(name: string): FloatArray {
    const p = this.params.get(name);
    if (!p) throw new ShadergradError(`reference: no parameter named '${name}'`);
    return p;
  }

  paramGrad(name: string): FloatArray {
    let g = this.grads.get(name);
    if (!g) this.grads.set(name, (g = this.alloc(this.param(name).length)));
    return g;
  }
}

interface CpuRule<K extends OpName> {
  /** Returns the node's output (the loss node's: per-sample losses; labels: none). */
  forward(node: GraphNode<K>, run: Run): FloatArray | undefined;
  /** Writes the gradients of the node's parameters and of each input that needs one. */
  backward(node: GraphNode<K>, run: Run): void;
}

const none = (): void => undefined;

function input(node: GraphNode, i = 0): number {
  const id = node.inputs[i];
  if (id === undefined) throw new ShadergradError(`${node.op} node ${node.id} has no input ${i}`);
  return id;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new ShadergradError(`reference: ${what} is missing`);
  return v;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

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

const cpuRules: { [K in OpName]: CpuRule<K> } = {
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
      const [out, x] = [run.out(node), run.x(node)];
      const [weight, bias] = [run.param(`${name}.weight`), run.param(`${name}.bias`)];
      conv2dForwardCpu({ x, weight, bias, out, geometry, O: features });
      activationForwardCpu({ x: out, y: out, activation }); // elementwise, so in place
      return out;
    },
    // dW = Σ dPre·x (per tap), dB = Σ dPre, dX = Σ W·dPre
    backward: (node, run) => {
      const { name, features, geometry, activation } = node.attrs;
      const [dOut, dX] = [preActivationGrad(node, activation, run), run.grad(input(node))];
      const [weight, dWeight] = [run.param(`${name}.weight`), run.paramGrad(`${name}.weight`)];
      const [x, dBias] = [run.x(node), run.paramGrad(`${name}.bias`)];
      const args = { x, weight, dOut, dWeight, dBias, geometry, O: features };
      conv2dBackwardCpu(dX ? { ...args, dX } : args);
    },
  },

  dense: {
    // y = act(x·Wᵀ + b), x [N, in], W [out, in]
    forward: (node, run) => {
      const a = run.x(node);
      const [N = 1, K = 1] = run.xShape(node);
      const { name, units, activation } = node.attrs;
      const [out, b] = [run.out(node), run.param(`${name}.weight`)];
      const bias = run.param(`${name}.bias`);
      matmulCpu({ a, b, out, M: N, K, N: units, transB: true, bias, biasMode: 'col', activation });
      return out;
    },
    // dW = dPreᵀ·x, db = Σ_n dPre, dX = dPre·W
    backward: (node, run) => {
      const x = run.x(node);
      const [N = 1, inputs = 1] = run.xShape(node);
      const { name, units, activation } = node.attrs;
      const [dPre, dX] = [preActivationGrad(node, activation, run), run.grad(input(node))];
      const [weight, dWeight] = [run.param(`${name}.weight`), run.paramGrad(`${name}.weight`)];
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
      const [y, dX, { activation }] = [run.value(node.id), run.grad(input(node)), node.attrs];
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
      const [dX, { rate, seed, layer }] = [run.grad(input(node)), node.attrs];
      const step = [need(run.step, 'the step count')];
      if (dX) dropoutBackwardCpu({ dY: run.dY(node), step, dX, rate, seed, layer });
    },
  },

  maxPool: {
    forward: (node, run) => {
      const [out, argmax] = [run.out(node), new Uint32Array(size(node.shape))];
      maxPoolForwardCpu({ x: run.x(node), out, argmax, geometry: node.attrs.geometry });
      run.argmax.set(node.id, argmax);
      return out;
    },
    // dX gathers dY from the windows whose argmax is this element
    backward: (node, run) => {
      const [dX, argmax] = [run.grad(input(node)), need(run.argmax.get(node.id), 'argmax')];
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
      const dX = run.grad(input(node));
      if (dX) avgPoolBackwardCpu({ dOut: run.dY(node), dX, geometry: node.attrs.geometry });
    },
  },

  softmaxCrossEntropy: {
    forward: (node, run) => {
      const logits = run.x(node);
      const [N = 1, K = 1] = run.xShape(node);
      const loss = run.out(node);
      softmaxCrossEntropyForwardCpu({ logits, labels: run.inputs.labels, loss, N, K });
      return loss;
    },
    // dLogits = (softmax - onehot(label)) / N (the GPU fuses this into its forward dispatch)
    backward: (node, run) => {
      const logits = run.x(node);
      const [N = 1, K = 1] = run.xShape(node);
      const [dLogits, labels] = [run.grad(input(node)), run.inputs.labels];
      if (dLogits) softmaxCrossEntropyBackwardCpu({ logits, labels, dLogits, N, K });
    },
  },

  mse: {
    forward: (node, run) => {
      const pred = run.x(node);
      const [N = 1, D = 1] = run.xShape(node);
      const loss = run.out(node);
      mseForwardCpu({ pred, target: run.value(input(node, 1)), loss, N, D });
      return loss;
    },
    // dPred = 2 (pred - target) / (N·D)
    backward: (node, run) => {
      const pred = run.x(node);
      const [N = 1, D = 1] = run.xShape(node);
      const dPred = run.grad(input(node));
      const target = run.value(input(node, 1));
      if (dPred) mseBackwardCpu({ pred, target, dPred, N, D });
    },
  },
};

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
      expectLength(`${name} [${n.shape.join(', ')}]`, fed(run, name).length, size(n.shape));
    }
    if (n.op === 'labels') expectLength('labels', run.inputs.labels.length, size(n.shape));
    for (const p of n.params)
      expectLength(`'${p.name}' [${p.shape.join(', ')}]`, run.param(p.name).length, size(p.shape));
  }
  for (const n of run.graph.nodes) {
    const out = (cpuRules[n.op] as CpuRule<OpName>).forward(n, run);
    if (out) run.values.set(n.id, out);
  }
  // Per-sample cross-entropies average with 1/N; mse's partial sums are already scaled.
  const [total, N] = [run.alloc(1), loss.shape[0] ?? 1];
  lossMeanCpu({ loss: run.value(loss.id), total, N, scale: loss.op === 'mse' ? 1 : 1 / N });
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
): ReferenceStepResult {
  const needs = graph.gradientNodes();
  const run = new Run(graph, state.params, inputs, precision, needs, state.step);
  const loss = forwardPass(run);
  for (const n of [...graph.nodes].reverse()) {
    if (needs.has(n.id)) (cpuRules[n.op] as CpuRule<OpName>).backward(n, run);
  }
  const step = [state.step];
  optimizerStepBeginCpu({ step });
  for (const spec of graph.parameters()) {
    const [param, grad] = [run.param(spec.name), run.paramGrad(spec.name)];
    let slots = state.optimizerState.get(spec.name);
    if (!slots) {
      slots = Array.from({ length: optimizerStateSlots(optimizer.kind) }, () =>
        run.alloc(grad.length),
      );
      state.optimizerState.set(spec.name, slots);
    }
    optimizerUpdateCpu({ grad, step, param, state: slots, config: optimizer });
  }
  state.step = step[0] ?? state.step + 1;
  return { loss, values: run.values, grads: run.grads, nodeGrads: run.nodeGrads };
}
