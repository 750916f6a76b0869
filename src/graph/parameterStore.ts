/**
 * Parameter store: the GPU tensors that outlive a step (parameters, their gradients, optimizer
 * state and the optimizer's step counter), shared by every compiled plan of one model (the
 * training plan and evaluation plans of other batch sizes). A store made without an optimizer can
 * never train (a training plan needs one), so it holds the parameters only: no gradients, state
 * or step counter, which is what an app that only predicts wants to pay for. Buffers (batch norm's
 * running statistics) live here too, with no gradient or state. Initialization follows PyTorch's
 * defaults: Conv2d and Linear weights and biases ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (that is
 * kaiming_uniform with a = sqrt(5)), drawn on the CPU from a seeded generator; batch norm's weight
 * and running variance ones, its bias and running mean zeros.
 */
import type { Gpu } from '../gpu/device';
import { createTensor, readFloat32, readTensor, writeTensor } from '../gpu/buffers';
import { ShadergradError } from '../base/errors';
import type { ParamSpec } from './graph';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import { optimizerStateSlots, type OptimizerConfig } from '../kernels/index';
import { mulberry32 } from '../base/random';

export interface StoredParameter {
  readonly spec: ParamSpec;
  readonly value: GpuTensor;
  /** Undefined in a store without an optimizer (inference only). */
  readonly grad: GpuTensor | undefined;
  readonly state: readonly GpuTensor[];
}

export class ParameterStore {
  readonly params = new Map<string, StoredParameter>();
  private readonly stepTensor: GpuTensor | undefined;
  private readonly clipTensor: GpuTensor | undefined;

  /**
   * Parameters drawn from `seed`. With an optimizer, also a gradient and the optimizer's state
   * per parameter and the step counter; without one (`undefined`), the parameters alone.
   */
  constructor(
    private readonly gpu: Gpu,
    specs: readonly ParamSpec[],
    readonly optimizer: OptimizerConfig | undefined,
    seed: number,
  ) {
    const slots = optimizer ? optimizerStateSlots(optimizer.kind) : 0;
    const random = mulberry32(seed);
    for (const spec of specs) {
      const value = createTensor(gpu, spec.shape, { label: spec.name, contents: 'model' });
      writeTensor(gpu, value, initialValues(spec, random));
      // buffers (batch norm's running statistics) have no gradient or optimizer state
      const learns = optimizer !== undefined && spec.trainable !== false;
      const grad = learns
        ? createTensor(gpu, spec.shape, { label: `${spec.name}.grad`, contents: 'model' })
        : undefined;
      const state = Array.from({ length: learns ? slots : 0 }, (_, i) =>
        createTensor(gpu, spec.shape, { label: `${spec.name}.state${i}`, contents: 'model' }),
      );
      this.params.set(spec.name, { spec, value, grad, state });
    }
    this.stepTensor = optimizer
      ? createTensor(gpu, [1], { dtype: 'u32', label: 'optimizer.step' })
      : undefined;
    // Gradient clipping's scratch: a sum per trainable tensor, then the norm and the coefficient.
    this.clipTensor =
      optimizer?.clipGradNorm !== undefined
        ? createTensor(gpu, [this.trainableParams().length + 2], { label: 'optimizer.clip' })
        : undefined;
  }

  /**
   * f32 [trainable tensors + 2] for clipGradNorm (partial sums, norm, coef), recomputed every
   * step; undefined when the optimizer does not clip.
   */
  get clip(): GpuTensor | undefined {
    return this.clipTensor;
  }

  /** The parameters an optimizer updates, in graph order (not batch norm's running statistics). */
  trainableParams(): [string, StoredParameter][] {
    return [...this.params].filter(([, p]) => p.spec.trainable !== false);
  }

  /** True when the store has gradients and optimizer state, so plans on it may train. */
  get trainable(): boolean {
    return this.optimizer !== undefined;
  }

  /** u32 [1]: optimizer steps taken (Adam's t); a store without an optimizer has none. */
  get step(): GpuTensor {
    if (!this.stepTensor) throw inferenceOnly('step counter');
    return this.stepTensor;
  }

  /** A parameter's gradient; a store without an optimizer has none. */
  gradOf(name: string): GpuTensor {
    const grad = this.get(name).grad;
    if (!grad) throw inferenceOnly(`gradient for '${name}'`);
    return grad;
  }

  get(name: string): StoredParameter {
    const p = this.params.get(name);
    if (!p)
      throw new ShadergradError(
        `no parameter named '${name}' (have: ${[...this.params.keys()].join(', ')})`,
      );
    return p;
  }

  /** Bytes of parameters, gradients and optimizer state. */
  bytes(): { parameters: number; gradients: number; optimizerState: number } {
    let parameters = 0;
    let gradients = 0;
    let optimizerState = 0;
    for (const p of this.params.values()) {
      parameters += p.value.byteLength;
      gradients += p.grad?.byteLength ?? 0;
      optimizerState += p.state.reduce((a, s) => a + s.byteLength, 0);
    }
    return { parameters, gradients, optimizerState };
  }

  async read(name: string, what: 'value' | 'grad' = 'value'): Promise<Float32Array> {
    return readFloat32(this.gpu, what === 'value' ? this.get(name).value : this.gradOf(name));
  }

  /** Replaces a parameter's values; the shape must match exactly. */
  write(name: string, data: Float32Array): void {
    const p = this.get(name);
    const n = elementCount(p.spec.shape);
    if (data.length !== n)
      throw new ShadergradError(
        `${name}: expected ${n} values [${p.spec.shape.join(', ')}], got ${data.length}`,
      );
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]))
        throw new ShadergradError(`${name}: value ${i} is ${data[i]}, not a finite number`);
    }
    writeTensor(this.gpu, p.value, data);
  }

  /** The optimizer state tensors of one parameter (Adam: m, v; momentum/RMSprop: one). */
  async readState(name: string): Promise<Float32Array[]> {
    return Promise.all(this.get(name).state.map((t) => readFloat32(this.gpu, t)));
  }

  writeState(name: string, state: readonly Float32Array[]): void {
    const p = this.get(name);
    if (state.length !== p.state.length)
      throw new ShadergradError(
        `${name}: optimizer has ${p.state.length} state tensors, got ${state.length}`,
      );
    const n = elementCount(p.spec.shape);
    state.forEach((s, i) => {
      if (s.length !== n)
        throw new ShadergradError(
          `${name}: optimizer state ${i} needs ${n} values, got ${s.length}`,
        );
      writeTensor(this.gpu, p.state[i] as GpuTensor, s);
    });
  }

  /** Optimizer steps taken so far (Adam's t). */
  async readStep(): Promise<number> {
    const [t] = await readTensor(this.gpu, this.step);
    return t ?? 0;
  }

  writeStep(t: number): void {
    writeTensor(this.gpu, this.step, Uint32Array.of(t));
  }

  destroy(): void {
    for (const p of this.params.values())
      for (const t of [p.value, p.grad, ...p.state]) t?.buffer.destroy();
    this.stepTensor?.buffer.destroy();
    this.clipTensor?.buffer.destroy();
  }
}

function inferenceOnly(what: string): ShadergradError {
  return new ShadergradError(
    `this parameter store has no optimizer (inference only), so it holds no ${what}: create it with an optimizer to train`,
  );
}

/**
 * A parameter's first values. The generator advances only for uniform and normal ones, so adding
 * batch or layer norm to a network leaves the draws of its other layers as they were.
 */
function initialValues(spec: ParamSpec, random: () => number): Float32Array {
  const out = new Float32Array(elementCount(spec.shape));
  const init = spec.init ?? 'uniform';
  if (init === 'ones') out.fill(1);
  if (init === 'normal') return normalValues(out, spec.std ?? 1, random);
  if (init !== 'uniform') return out;
  const bound = 1 / Math.sqrt(spec.fanIn);
  for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * bound;
  return out;
}

/** N(0, std²) by Box–Muller: two uniforms per pair of values (1 - u keeps the log finite). */
function normalValues(out: Float32Array, std: number, random: () => number): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
