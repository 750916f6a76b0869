/**
 * The state of one CPU reference step (cpuReference.ts): every node's value and gradient, the
 * parameters' gradients, and what a backward rule keeps from its forward. A node feeding several
 * uses gets its gradient from parts added in the executor's order (Graph.gradientUses).
 */
import { ShadergradError } from '../base/errors';
import { roundToF16 } from '../base/f16';
import { elementCount } from '../gpu/tensor';
import type { GradientUse, Graph, GraphNode, OpName } from './graph';
import { inputOf } from './nodeShapes';
import { addAccumulateCpu, type FloatArray } from '../kernels/index';

/**
 * 'f32' and 'f64': the arrays every intermediate is stored in. 'mixed': f32, with each
 * convolution's input rounded to f16 where the GPU reads it from its f16 im2col matrix or padded
 * x (the forward product and the weight gradient under PlanOptions.precision 'f16').
 */
export type ReferencePrecision = 'f32' | 'f64' | 'mixed';

/** One batch, by input node name: 'images', 'labels' (class ids) and, for mse, 'targets'. */
export interface ReferenceInputs {
  images?: FloatArray;
  labels: Int32Array;
  /** [N, D] for an input node named 'targets' (mse's second input). */
  targets?: FloatArray;
  /** Token ids for the tokens node (a sequence model's input), e.g. [N, T]. */
  tokens?: Uint32Array;
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

export /** The tensors of one step; rules read and create them through it. */
class Run {
  readonly values = new Map<number, FloatArray>();
  readonly nodeGrads = new Map<number, FloatArray>();
  readonly grads = new Map<string, FloatArray>();
  /** maxPool node id -> the forward's argmax. */
  readonly argmax = new Map<number, Uint32Array>();
  /** batchNorm node id -> the batch's mean and biased variance, from the forward. */
  readonly batchStats = new Map<number, { mean: FloatArray; variance: FloatArray }>();
  /** layerNorm node id -> each row's mean and 1/std, from the forward. */
  readonly rowStats = new Map<number, { mean: FloatArray; rstd: FloatArray }>();
  /** Gradient parts waiting to be added to their input's gradient, by consumer node. */
  private readonly parts = new Map<number, { part: FloatArray; id: number }[]>();
  /** Per node: gradient parts of tied parameters, added after its backward (as on the GPU). */
  private readonly paramParts = new Map<number, { part: FloatArray; name: string }[]>();
  /** The node whose backward runs (paramGrad answers per node). */
  private backwardNode: GraphNode | undefined;
  private readonly uses: ReadonlyMap<number, readonly GradientUse[]>;

  constructor(
    readonly graph: Graph,
    readonly params: ReadonlyMap<string, FloatArray>,
    readonly inputs: ReferenceInputs,
    readonly precision: ReferencePrecision,
    private readonly needsGrad: ReadonlySet<number> = new Set(),
    /** Optimizer steps completed, in training (dropout draws its mask from it); else undefined. */
    readonly step?: number,
    /** Batch norm updates its running statistics in params (a training step does). */
    readonly updatesRunningStats = false,
  ) {
    this.uses = graph.gradientUses(needsGrad);
  }

  get training(): boolean {
    return this.step !== undefined;
  }

  alloc(length: number): FloatArray {
    return this.precision === 'f64' ? new Float64Array(length) : new Float32Array(length);
  }

  /** A new array for the node's output. */
  out(node: GraphNode): FloatArray {
    return this.alloc(elementCount(node.shape));
  }

  value(id: number): FloatArray {
    return need(this.values.get(id), `value of node ${id}`);
  }

  /** The value of the node's first input. */
  x(node: GraphNode): FloatArray {
    return this.value(inputOf(node));
  }

  /** A convolution's input as its products read it: rounded to f16 under 'mixed'. */
  colsSource(node: GraphNode): FloatArray {
    const x = this.x(node);
    return this.precision === 'mixed' ? roundToF16(x) : x;
  }

  /** The shape of the node's first input. */
  xShape(node: GraphNode): readonly number[] {
    return this.graph.get(inputOf(node)).shape;
  }

  /** dLoss/d(output of node id), zero on first use; undefined when no parameter is upstream. */
  grad(id: number): FloatArray | undefined {
    if (!this.needsGrad.has(id)) return undefined;
    const node = this.graph.get(id);
    let g = this.nodeGrads.get(id);
    const view = node.op === 'flatten' || node.op === 'reshape';
    if (!g) g = view ? this.inputGrad(node, 0) : this.out(node);
    if (g) this.nodeGrads.set(id, g); // a view: the same array as its input's gradient
    return g;
  }

  /**
   * Where the node writes dLoss/d(input i): the input's gradient for its last use, else a part
   * that addParts adds after the node's backward (the executor's order).
   */
  inputGrad(node: GraphNode, i = 0): FloatArray | undefined {
    const id = inputOf(node, i);
    if (!this.needsGrad.has(id)) return undefined;
    const last = this.uses.get(id)?.at(-1);
    if (last?.consumer === node.id && last.index === i) return this.grad(id);
    const part = this.alloc(elementCount(this.graph.get(id).shape));
    this.parts.set(node.id, [...(this.parts.get(node.id) ?? []), { part, id }]);
    return part;
  }

  beginBackward(node: GraphNode | undefined): void {
    this.backwardNode = node;
  }

  /** After a node's backward: its gradient parts added to their inputs' (and tied parameters') gradients. */
  addParts(node: GraphNode): void {
    for (const { part, name } of this.paramParts.get(node.id) ?? [])
      addAccumulateCpu({ source: part, target: this.paramGrad(name), count: part.length });
    for (const { part, id } of this.parts.get(node.id) ?? [])
      addAccumulateCpu({
        source: part,
        target: need(this.grad(id), 'gradient'),
        count: part.length,
      });
  }

  /** The gradient of the node's own output, which its consumers have completed. */
  dY(node: GraphNode): FloatArray {
    return need(this.grad(node.id), `gradient of node ${node.id}`);
  }

  param(name: string): FloatArray {
    const p = this.params.get(name);
    if (!p) throw new ShadergradError(`reference: no parameter named '${name}'`);
    return p;
  }

  paramGrad(name: string): FloatArray {
    const node = this.backwardNode;
    if (node && this.graph.parameterWriter(name, this.needsGrad) !== node.id) {
      const part = this.alloc(this.param(name).length);
      this.paramParts.set(node.id, [...(this.paramParts.get(node.id) ?? []), { part, name }]);
      return part;
    }
    let g = this.grads.get(name);
    if (!g) this.grads.set(name, (g = this.alloc(this.param(name).length)));
    return g;
  }
}

export interface CpuRule<K extends OpName> {
  /** Returns the node's output (the loss node's: per-sample losses; labels: none). */
  forward(node: GraphNode<K>, run: Run): FloatArray | undefined;
  /** Writes the gradients of the node's parameters and of each input that needs one. */
  backward(node: GraphNode<K>, run: Run): void;
}

/** The rule of an op with nothing to do in that direction. */
export const none = (): void => undefined;

export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new ShadergradError(`reference: ${what} is missing`);
  return v;
}
