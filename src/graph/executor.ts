/**
 * Executor: compiles a graph once into a fixed list of dispatches with all memory planned.
 *
 * 1. Trace: the rules of src/graph/autodiff.ts run against placeholder tensors, giving the
 *    step's schedule (prelude, forward in graph order, metrics, backward in reverse, optimizer).
 * 2. Plan: each intermediate's lifetime is the span of calls that bind it; memoryPlanner.ts packs them
 *    into shared buffers. Parameters, gradients, optimizer state, inputs, logits and losses are
 *    persistent.
 * 3. Bind: placeholders are replaced by real tensors, and every call gets its pipeline, uniform
 *    and bind group now. A step then only encodes the prepared calls into one pass and submits:
 *    no buffer or bind group is created per step.
 */
import type { Gpu } from '../gpu/device';
import { loadOpRules, ruleOf, type OpRules } from './autodiff';
import type { RuleContext } from './ruleContext';
import { planPrecision, type Precision } from './precision';
import { prepareCall, type KernelCall } from '../gpu/dispatch';
import { STORAGE_USAGE, checkSize, largestBinding } from '../gpu/buffers';
import { ShadergradError } from '../base/errors';
import type { GradientUse, Graph, GraphNode } from './graph';
import type { ParameterStore } from './parameterStore';
import { planMemory } from './memoryPlanner';
import { optimizerCalls } from './optimizerCalls';
import { elementCount, tensorByteLength, type DType, type GpuTensor } from '../gpu/tensor';
import {
  adamPerInvocation,
  addAccumulate,
  DefaultPolicy,
  preferredPolicy,
  channelSumLanes,
  type MatmulPolicy,
  type MatmulVariant,
} from '../kernels/index';
import type { TuneOptions, TuningReport } from './tuneReport';
import { StepPlan, type MemoryReport } from './stepPlan';

export { StepPlan, type MemoryReport } from './stepPlan';

export type { Precision } from './precision';

export type TensorKind = 'input' | 'activation' | 'gradient' | 'scratch' | 'output';

interface TracedTensor {
  readonly id: number;
  readonly label: string;
  readonly kind: TensorKind;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly tensor: GpuTensor;
}

export interface PlanOptions {
  training: boolean;
  /**
   * The products' variant (default: the adapter's choice and dX path, preferredPolicy); with
   * `tune`, fixes the variant and tunes only its shape.
   */
  matmulVariant?: MatmulVariant;
  /** Times each product's candidates on this device and runs the fastest (./tuner.ts); default off. */
  tune?: TuneOptions;
  /** Give every intermediate its own buffer, so tests can read activations after a step. */
  keepIntermediates?: boolean;
  /**
   * Mixed precision (needs the device's `shader-f16` feature): 'f16' stores what the products
   * read of each convolution's input, its im2col matrix (the largest tensor of a CNN's step) or
   * on the implicit path its padded x, in half precision; the products still accumulate in f32,
   * and weights, gradients, optimizer state and every other activation stay f32. Default 'f32',
   * the reference.
   */
  precision?: Precision;
  /**
   * Training plans: node ids (inputs or activations) whose gradient dLoss/d(output) the step
   * keeps in a buffer of its own, readable after it with `tensorOf(id, 'grad')` (saliency maps,
   * adversarial inputs). Parameters' gradients are always kept.
   */
  gradientsFor?: readonly number[];
  /**
   * The largest tensor a kernel may bind (default: the device's largest storage binding). A
   * convolution whose unfolded batch is larger goes through in chunks; tests lower it to see that.
   */
  maxBindingBytes?: number;
  /** Calls that run first in the step (batch gathering), prepared like the rest. */
  prelude?: (inputs: ReadonlyMap<string, GpuTensor>) => KernelCall[];
  /** Calls that run right after the forward pass (metrics), given the loss node's tensors. */
  metrics?: (t: {
    loss: GpuTensor;
    logits: GpuTensor;
    /** Integer labels (softmaxCrossEntropy) or float targets (mse). */
    labels: GpuTensor;
    lossKind: 'softmaxCrossEntropy' | 'mse';
  }) => KernelCall[];
}

class Tracer implements RuleContext {
  readonly tensors: TracedTensor[] = [];
  private readonly byKey = new Map<string, GpuTensor>();
  private readonly uses: ReadonlyMap<number, readonly GradientUse[]>;
  private readonly kept: ReadonlySet<number>;
  readonly matmulPolicy: MatmulPolicy;
  readonly maxBindingBytes: number;
  readonly channelSumLanes: number;
  /** Elements per Adam invocation: adamPerInvocation of the adapter. */
  readonly adamPerInvocation: number;
  readonly colsDtype: 'f32' | 'f16';
  readonly notes: string[] = [];
  /** The node whose backward is being traced (paramGrad answers per node). */
  private backwardNode: GraphNode | undefined;
  /** Per node: gradient parts of tied parameters, added to the parameter's gradient after it. */
  private readonly paramParts = new Map<number, { part: GpuTensor; name: string }[]>();

  constructor(
    readonly graph: Graph,
    readonly store: ParameterStore,
    readonly training: boolean,
    device: Pick<
      Tracer,
      'matmulPolicy' | 'maxBindingBytes' | 'channelSumLanes' | 'adamPerInvocation' | 'colsDtype'
    >,
    private readonly requiresGrad: ReadonlySet<number>,
    gradientsFor: readonly number[] = [],
  ) {
    this.matmulPolicy = device.matmulPolicy;
    this.maxBindingBytes = device.maxBindingBytes;
    this.channelSumLanes = device.channelSumLanes;
    this.adamPerInvocation = device.adamPerInvocation;
    this.colsDtype = device.colsDtype;
    this.uses = graph.gradientUses(requiresGrad);
    this.kept = new Set(gradientsFor);
  }

  make(key: string, kind: TensorKind, shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const existing = this.byKey.get(key);
    if (existing) return existing;
    const id = this.tensors.length;
    // A stand-in buffer: only its identity matters until the plan assigns a real one.
    const buffer = { label: key, placeholderId: id } as unknown as GPUBuffer;
    const tensor: GpuTensor = {
      buffer,
      shape: [...shape],
      dtype,
      byteOffset: 0,
      byteLength: tensorByteLength(shape, dtype),
    };
    this.tensors.push({ id, label: key, kind, shape, dtype, tensor });
    this.byKey.set(key, tensor);
    return tensor;
  }

  known(): ReadonlyMap<string, GpuTensor> {
    return this.byKey;
  }

  consumers(id: number): readonly GraphNode[] {
    return this.graph.nodes.filter((n) => n.inputs.includes(id));
  }

  node(id: number): GraphNode {
    return this.graph.get(id);
  }

  value(id: number): GpuTensor {
    const node = this.graph.get(id);
    // flatten and reshape are views; dropout in evaluation is the identity, so also an alias
    if (isView(node) || (node.op === 'dropout' && !this.training))
      return reshape(this.value(node.inputs[0] ?? -1), node.shape);
    const kind: TensorKind = isInput(node)
      ? 'input'
      : isOutput(this.graph, node)
        ? 'output'
        : 'activation';
    const dtype = node.op === 'labels' ? 'i32' : node.op === 'tokens' ? 'u32' : 'f32';
    return this.make(`value:${id}`, kind, node.shape, dtype);
  }

  grad(id: number): GpuTensor | undefined {
    if (!this.training || !this.requiresGrad.has(id)) return undefined;
    const node = this.graph.get(id);
    if (isView(node)) {
      const inner = this.inputGrad(node, 0);
      return inner && reshape(inner, node.shape);
    }
    return this.make(`grad:${id}`, this.kept.has(id) ? 'output' : 'gradient', node.shape);
  }

  needsInputGrad(node: GraphNode, i = 0): boolean {
    const id = node.inputs[i];
    return id !== undefined && this.training && this.requiresGrad.has(id);
  }

  inputGrad(node: GraphNode, i = 0): GpuTensor | undefined {
    const id = node.inputs[i];
    if (id === undefined || !this.needsInputGrad(node, i)) return undefined;
    if (this.isLastUse(id, node.id, i)) return this.grad(id);
    return this.make(`gradPart:${id}:${node.id}:${i}`, 'gradient', this.graph.get(id).shape);
  }

  /** Starts tracing the node's backward: paramGrad hands it parts of tied parameters. */
  beginBackward(node: GraphNode | undefined): void {
    this.backwardNode = node;
  }

  /**
   * The calls that add the node's gradient parts into its inputs' gradients, and into tied
   * parameters' gradients, after its backward.
   */
  accumulations(node: GraphNode): KernelCall[] {
    const inputs = node.inputs.flatMap((id, i) => {
      const part = this.inputGrad(node, i);
      const target = this.grad(id);
      if (!part || !target || this.isLastUse(id, node.id, i)) return [];
      return [addAccumulate({ source: part, target, count: elementCount(part.shape) })];
    });
    const params = (this.paramParts.get(node.id) ?? []).map(({ part, name }) =>
      addAccumulate({
        source: part,
        target: this.store.gradOf(name),
        count: elementCount(part.shape),
      }),
    );
    return [...inputs, ...params];
  }

  /** True when the node's output needs a gradient, so its backward runs. */
  requires(id: number): boolean {
    return this.requiresGrad.has(id);
  }

  private isLastUse(id: number, consumer: number, index: number): boolean {
    const last = this.uses.get(id)?.at(-1);
    return last?.consumer === consumer && last.index === index;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  step(): GpuTensor {
    return this.store.step;
  }

  param(name: string): GpuTensor {
    return this.store.get(name).value;
  }

  paramGrad(name: string): GpuTensor {
    const node = this.backwardNode;
    if (!node || this.graph.parameterWriter(name, this.requiresGrad) === node.id)
      return this.store.gradOf(name);
    const part = this.make(
      `paramPart:${node.id}:${name}`,
      'gradient',
      this.store.get(name).spec.shape,
    );
    const parts = this.paramParts.get(node.id) ?? [];
    if (!parts.some((p) => p.name === name))
      this.paramParts.set(node.id, [...parts, { part, name }]);
    return part;
  }

  scratch(
    node: number,
    key: string,
    shape: readonly number[],
    dtype: 'f32' | 'f16' | 'u32' = 'f32',
  ): GpuTensor {
    return this.make(`scratch:${node}:${key}`, 'scratch', shape, dtype);
  }
}

/** Nodes whose value and gradient alias their input's, with another shape. */
function isView(node: GraphNode): boolean {
  return node.op === 'flatten' || node.op === 'reshape';
}

/** Nodes the caller fills before a step (by name, through StepPlan.inputs). */
function isInput(node: GraphNode): boolean {
  return node.op === 'input' || node.op === 'labels' || node.op === 'tokens';
}

function reshape(t: GpuTensor, shape: readonly number[]): GpuTensor {
  return { ...t, shape: [...shape] };
}

function isOutput(graph: Graph, node: GraphNode): boolean {
  const loss = graph.lossNode();
  return node.id === loss.id || node.id === loss.inputs[0];
}

function trace(graph: Graph, rules: OpRules, tracer: Tracer, options: PlanOptions): KernelCall[] {
  const loss = graph.lossNode();
  const calls: KernelCall[] = [];
  for (const n of graph.nodes) if (isInput(n)) tracer.value(n.id);
  const inputs = inputMap(graph, tracer);
  if (options.prelude) calls.push(...options.prelude(inputs));
  for (const n of graph.nodes) calls.push(...ruleOf(rules, n).forward(n, tracer));
  const logits = tracer.value(loss.inputs[0] ?? -1);
  const labels = tracer.value(loss.inputs[1] ?? -1);
  if (options.metrics)
    calls.push(
      ...options.metrics({ loss: tracer.value(loss.id), logits, labels, lossKind: loss.op }),
    );
  if (!options.training) return calls;
  for (const n of [...graph.nodes].reverse()) {
    if (!tracer.requires(n.id)) continue;
    tracer.beginBackward(n);
    calls.push(...ruleOf(rules, n).backward(n, tracer), ...tracer.accumulations(n));
  }
  tracer.beginBackward(undefined);
  calls.push(...optimizerCalls(tracer.store, tracer.adamPerInvocation));
  return calls;
}

function inputMap(graph: Graph, tracer: Tracer): Map<string, GpuTensor> {
  const m = new Map<string, GpuTensor>();
  for (const n of graph.nodes) {
    if (isInput(n)) m.set((n.attrs as { name: string }).name, tracer.value(n.id));
  }
  return m;
}

/** Compiles the graph into a StepPlan sharing the store's parameters. */
export async function compilePlan(
  gpu: Gpu,
  graph: Graph,
  store: ParameterStore,
  options: PlanOptions,
): Promise<StepPlan> {
  if (options.training && !store.trainable)
    throw new ShadergradError(
      'training plan needs an optimizer: this parameter store has none (inference only: no gradients or optimizer state)',
    );
  const defaults = options.matmulVariant
    ? new DefaultPolicy({ variant: options.matmulVariant })
    : preferredPolicy(gpu.adapter.kind, gpu.hasSubgroups);
  const maxBindingBytes = options.maxBindingBytes ?? largestBinding(gpu);
  const colsDtype = planPrecision(gpu, options.precision);
  const rules = await loadOpRules(graph);
  const traceWith = (matmulPolicy: MatmulPolicy) => {
    const tracer = new Tracer(
      graph,
      store,
      options.training,
      {
        matmulPolicy,
        maxBindingBytes,
        channelSumLanes: channelSumLanes(gpu.adapter.kind),
        adamPerInvocation: adamPerInvocation(gpu.adapter.kind),
        colsDtype,
      },
      options.training ? graph.gradientNodes(options.gradientsFor) : new Set(),
      options.gradientsFor,
    );
    return { tracer, calls: trace(graph, rules, tracer, options) };
  };
  let policy: MatmulPolicy = defaults;
  let tuning: TuningReport | undefined;
  if (options.tune && options.tune.mode !== 'off') {
    // Loaded only here: a page that never tunes does not download the tuner.
    const { tunePlan } = await import('./tunePlan');
    const fixedVariant = options.matmulVariant !== undefined;
    const tracing = { defaults, maxBindingBytes, fixedVariant, trace: traceWith };
    ({ chooser: policy, report: tuning } = await tunePlan(gpu, tracing, options.tune));
  }
  const { tracer, calls } = traceWith(policy);
  const { realOf, buffers, memory } = allocate(
    gpu,
    tracer,
    calls,
    store,
    options.keepIntermediates ?? false,
  );
  const realize = (t: GpuTensor): GpuTensor => {
    const r = realOf.get(t.buffer);
    return r ? { ...t, buffer: r } : t;
  };
  const bound = calls.map((c) => ({ ...c, tensors: c.tensors.map(realize) }));
  const prepared = await Promise.all(bound.map((c) => prepareCall(gpu, c)));
  const inputs = new Map([...inputMap(graph, tracer)].map(([k, t]) => [k, realize(t)]));
  const loss = graph.lossNode();
  const outputs = {
    loss: realize(tracer.value(loss.id)),
    logits: realize(tracer.value(loss.inputs[0] ?? -1)),
  };
  const nodeTensors = new Map([...tracer.known()].map(([k, t]) => [k, realize(t)]));
  const labels = calls.map((c) => c.tensors.map((t) => tensorName(graph, tracer, t)));
  return new StepPlan(
    gpu,
    prepared,
    inputs,
    outputs,
    memory,
    buffers,
    nodeTensors,
    labels,
    tracer.notes,
    tuning,
  );
}

/**
 * A bound tensor for a user: a traced one by its layer, node and role ("conv2 (node 3) scratch
 * cols"), any other (parameters, optimizer state, metrics, the dataset) by its buffer's label.
 */
function tensorName(graph: Graph, tracer: Tracer, t: GpuTensor): string {
  const traced = tracer.tensors.find((x) => x.tensor.buffer === t.buffer);
  if (!traced) return t.buffer.label || 'an unnamed tensor';
  const [role = '', id = '', key] = traced.label.split(':');
  const node = graph.nodes[Number(id)];
  if (!node) return traced.label;
  const layer = (node.attrs as { name?: string }).name ?? node.op;
  const what = role === 'grad' ? 'gradient' : role === 'scratch' ? `scratch ${key ?? ''}` : role;
  return `${layer} (node ${node.id}) ${what}`;
}

function allocate(
  gpu: Gpu,
  tracer: Tracer,
  calls: readonly KernelCall[],
  store: ParameterStore,
  keepAll: boolean,
) {
  const byBuffer = new Map<GPUBuffer, TracedTensor>(
    tracer.tensors.map((t) => [t.tensor.buffer, t]),
  );
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  calls.forEach((c, i) => {
    for (const t of c.tensors) {
      const traced = byBuffer.get(t.buffer);
      if (!traced) continue;
      if (!first.has(traced.id)) first.set(traced.id, i);
      last.set(traced.id, i);
    }
  });
  const planned = tracer.tensors.filter(
    (t) => !keepAll && (t.kind === 'activation' || t.kind === 'gradient' || t.kind === 'scratch'),
  );
  // Refuse, before allocating anything, a tensor no storage binding of this device can hold.
  for (const t of tracer.tensors)
    checkSize(gpu, t.tensor.byteLength, describeTensor(tracer.graph, tracer, t));
  const plan = planMemory(
    planned.map((t) => ({
      id: t.id,
      byteLength: t.tensor.byteLength,
      first: first.get(t.id) ?? 0,
      last: last.get(t.id) ?? 0,
    })),
  );
  const slotBuffers = plan.slotBytes.map((bytes, i) =>
    gpu.device.createBuffer({
      label: `plan.slot${i}`,
      size: Math.max(4, bytes),
      usage: STORAGE_USAGE,
    }),
  );
  const realOf = new Map<GPUBuffer, GPUBuffer>();
  const own: GPUBuffer[] = [...slotBuffers];
  let persistent = 0;
  for (const t of tracer.tensors) {
    const slot = plan.slotOf.get(t.id);
    if (slot !== undefined) {
      realOf.set(t.tensor.buffer, slotBuffers[slot] as GPUBuffer);
      continue;
    }
    const b = gpu.device.createBuffer({
      label: t.label,
      size: Math.max(4, t.tensor.byteLength),
      usage: STORAGE_USAGE,
    });
    own.push(b);
    realOf.set(t.tensor.buffer, b);
    persistent += t.tensor.byteLength;
  }
  const kept = keepAll
    ? tracer.tensors.filter(
        (t) => t.kind === 'activation' || t.kind === 'gradient' || t.kind === 'scratch',
      )
    : [];
  const keptBytes = kept.reduce((a, t) => a + t.tensor.byteLength, 0);
  const s = store.bytes();
  const memory: MemoryReport = {
    ...s,
    persistent: persistent - keptBytes,
    planned: keepAll ? keptBytes : plan.plannedBytes,
    unplanned: keepAll ? keptBytes : plan.naiveBytes,
    total: s.parameters + s.gradients + s.optimizerState + persistent + plan.plannedBytes,
  };
  return { realOf, buffers: own, memory };
}

/** "conv2 (node 5) scratch cols [64, 800, 196]": what a tensor is, for size errors. */
function describeTensor(graph: Graph, tracer: Tracer, t: TracedTensor): string {
  return `${tensorName(graph, tracer, t.tensor)} [${t.shape.join(', ')}]`;
}
