/**
 * Trainer: runs compiled plans against data. The dataset is uploaded once as bytes; each epoch
 * uploads a seeded permutation, and every step gathers its batch on the GPU (the only per-step
 * CPU writes are the two 16-byte gather uniforms holding the batch offset). Loss and correct
 * counts accumulate on the GPU and are read back every `readEvery` steps through two staging
 * buffers, which also bounds how far the CPU runs ahead of the GPU.
 */
import type { Gpu } from './device';
import { createTensor, readFloat32, readTensor, uploadTensor, writeTensor } from './buffers';
import { ShadergradError } from './errors';
import type { Graph } from './graph';
import { compilePlan, type StepPlan } from './executor';
import { ParameterStore, mulberry32 } from './parameters';
import { elementCount, type GpuTensor } from './tensor';
import {
  accuracyCount,
  gatherImages,
  gatherLabels,
  lossMean,
  type KernelCallList,
  type MatmulVariant,
  type OptimizerConfig,
} from '../kernels/index';

/** A dataset on the GPU: raw bytes, as the IDX files hold them. */
export interface GpuDataset {
  readonly images: GpuTensor;
  readonly labels: GpuTensor;
  readonly perm: GpuTensor;
  readonly count: number;
  /** Per-sample shape, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
}

export function uploadDataset(
  gpu: Gpu,
  d: { images: Uint8Array; labels: Uint8Array; count: number; sampleShape: readonly number[] },
): GpuDataset {
  const pixels = d.sampleShape.reduce((a, b) => a * b, 1);
  if (d.images.length !== d.count * pixels)
    throw new ShadergradError(
      `dataset: ${d.images.length} image bytes for ${d.count} samples of ${pixels}`,
    );
  if (d.labels.length !== d.count)
    throw new ShadergradError(`dataset: ${d.labels.length} labels for ${d.count} samples`);
  const perm = createTensor(gpu, [d.count], { dtype: 'u32', label: 'dataset.perm' });
  writeTensor(
    gpu,
    perm,
    Uint32Array.from({ length: d.count }, (_, i) => i),
  );
  return {
    images: uploadTensor(gpu, d.images, [d.count, pixels], {
      dtype: 'u8',
      label: 'dataset.images',
    }),
    labels: uploadTensor(gpu, d.labels, [d.count], { dtype: 'u8', label: 'dataset.labels' }),
    perm,
    count: d.count,
    sampleShape: d.sampleShape,
  };
}

export interface TrainerOptions {
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  matmulVariant?: MatmulVariant;
  keepIntermediates?: boolean;
}

export interface EpochProgress {
  step: number;
  steps: number;
  samples: number;
  /** Mean training loss over the steps so far this epoch. */
  loss: number;
  seconds: number;
}

export interface EpochResult {
  loss: number;
  accuracy: number;
  samples: number;
  seconds: number;
}

export class Trainer {
  private readonly plans = new Map<string, StepPlan>();
  /** f32 [1] running loss sum, u32 [1] running correct count. */
  readonly lossSum: GpuTensor;
  readonly correct: GpuTensor;

  private constructor(
    readonly gpu: Gpu,
    readonly buildGraph: (batch: number) => Graph,
    readonly store: ParameterStore,
    readonly options: TrainerOptions,
  ) {
    this.lossSum = createTensor(gpu, [1], { label: 'metrics.lossSum' });
    this.correct = createTensor(gpu, [1], { dtype: 'u32', label: 'metrics.correct' });
  }

  static create(gpu: Gpu, buildGraph: (batch: number) => Graph, options: TrainerOptions): Trainer {
    const graph = buildGraph(options.batchSize);
    return new Trainer(
      gpu,
      buildGraph,
      new ParameterStore(gpu, graph.parameters(), options.optimizer, options.seed),
      options,
    );
  }

  /** The training plan for host-provided batches (inputs written with writeTensor). */
  async plan(kind: 'train' | 'eval', batch: number, data?: GpuDataset): Promise<StepPlan> {
    const key = `${kind}|${batch}|${data ? data.images.buffer.label + data.count : 'host'}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = await compilePlan(this.gpu, this.buildGraph(batch), this.store, {
        training: kind === 'train',
        ...(this.options.matmulVariant ? { matmulVariant: this.options.matmulVariant } : {}),
        keepIntermediates: this.options.keepIntermediates ?? false,
        ...(data
          ? {
              prelude: (inputs: ReadonlyMap<string, GpuTensor>) =>
                gatherCalls(data, inputs, 0, batch),
            }
          : {}),
        metrics: (m) => metricCalls(this, m, batch),
      });
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** One training step on a host batch; resolves to the batch's mean loss. */
  async trainStep(images: Float32Array, labels: Int32Array): Promise<number> {
    return this.trainStepWith({ images, labels });
  }

  /**
   * One training step feeding every input node by name (e.g. images + labels for cross-entropy,
   * images + targets for MSE); resolves to the batch's mean loss.
   */
  async trainStepWith(feeds: Readonly<Record<string, Float32Array | Int32Array>>): Promise<number> {
    const plan = await this.plan('train', this.options.batchSize);
    this.writeInputs(plan, feeds);
    this.resetMetrics();
    plan.submit();
    const [loss] = await readFloat32(this.gpu, this.lossSum);
    return checkFinite(loss ?? NaN, 'training loss');
  }

  /**
   * The model's outputs [n, K] for n host images: class probabilities (softmax of the logits,
   * on the CPU) for cross-entropy models, the raw outputs for MSE models.
   */
  async predict(images: Float32Array, n: number): Promise<Float32Array> {
    const plan = await this.plan('eval', n);
    const feeds: Record<string, Float32Array | Int32Array> = { images };
    for (const [name, t] of plan.inputs) {
      if (name !== 'images')
        feeds[name] =
          t.dtype === 'i32'
            ? new Int32Array(elementCount(t.shape))
            : new Float32Array(elementCount(t.shape));
    }
    this.writeInputs(plan, feeds);
    plan.submit();
    const outputs = await readFloat32(this.gpu, plan.outputs.logits);
    return plan.inputs.has('labels')
      ? softmaxRows(outputs, plan.outputs.logits.shape[1] ?? 1)
      : outputs;
  }

  private writeInputs(
    plan: StepPlan,
    feeds: Readonly<Record<string, Float32Array | Int32Array>>,
  ): void {
    for (const [name, t] of plan.inputs) {
      const data = feeds[name];
      if (!data) throw new ShadergradError(`input '${name}' [${t.shape.join(', ')}] was not given`);
      const want = t.dtype === 'i32' ? 'Int32Array' : 'Float32Array';
      if (data.constructor.name !== want)
        throw new ShadergradError(
          `input '${name}': expected an ${want}, got ${data.constructor.name}`,
        );
      const expected = elementCount(t.shape);
      if (data.length !== expected)
        throw new ShadergradError(
          `input '${name}': expected ${expected} values [${t.shape.join(', ')}], got ${data.length}`,
        );
      if (data instanceof Float32Array && !data.every(Number.isFinite))
        throw new ShadergradError(`input '${name}' holds NaN or infinite values`);
      writeTensor(this.gpu, t, data);
    }
  }

  resetMetrics(): void {
    writeTensor(this.gpu, this.lossSum, new Float32Array(1));
    writeTensor(this.gpu, this.correct, new Uint32Array(1));
  }

  /** One epoch over `data` in a seeded order; the last partial batch is dropped. */
  async trainEpoch(
    data: GpuDataset,
    epoch: number,
    onProgress?: (p: EpochProgress) => void,
    readEvery = 20,
  ): Promise<EpochResult> {
    const batch = this.options.batchSize;
    const steps = Math.floor(data.count / batch);
    if (steps === 0)
      throw new ShadergradError(
        `dataset of ${data.count} samples is smaller than one batch of ${batch}`,
      );
    writeTensor(
      this.gpu,
      data.perm,
      seededPermutation(data.count, this.options.seed * 1000 + epoch),
    );
    const plan = await this.plan('train', batch, data);
    const run = await runSteps(this, plan, data, steps, batch, readEvery, onProgress);
    return {
      loss: run.lossSum / steps,
      accuracy: run.correct / (steps * batch),
      samples: steps * batch,
      seconds: run.seconds,
    };
  }

  /** Mean loss and accuracy over every sample of `data`, in file order. */
  async evaluate(data: GpuDataset, batch = 100): Promise<{ loss: number; accuracy: number }> {
    writeTensor(
      this.gpu,
      data.perm,
      Uint32Array.from({ length: data.count }, (_, i) => i),
    );
    this.resetMetrics();
    let done = 0;
    let lossWeighted = 0;
    while (done < data.count) {
      const b = Math.min(batch, data.count - done);
      const plan = await this.plan('eval', b, data);
      rewriteGather(this.gpu, plan, data, done, b);
      writeTensor(this.gpu, this.lossSum, new Float32Array(1));
      plan.submit();
      const [l] = await readFloat32(this.gpu, this.lossSum);
      lossWeighted += (l ?? NaN) * b;
      done += b;
    }
    const [correct] = await readTensor(this.gpu, this.correct);
    return { loss: lossWeighted / data.count, accuracy: (correct ?? 0) / data.count };
  }

  destroy(): void {
    for (const p of this.plans.values()) p.destroy();
    this.store.destroy();
    this.lossSum.buffer.destroy();
    this.correct.buffer.destroy();
  }
}

function gatherCalls(
  data: GpuDataset,
  inputs: ReadonlyMap<string, GpuTensor>,
  offset: number,
  batch: number,
): KernelCallList {
  const images = inputs.get('images');
  const labels = inputs.get('labels');
  if (!images || !labels)
    throw new ShadergradError("graph needs inputs named 'images' and 'labels'");
  return [
    gatherImages({ images: data.images, perm: data.perm, out: images, offset, batch }),
    gatherLabels({ labels: data.labels, perm: data.perm, out: labels, offset, batch }),
  ];
}

/** Points the plan's gather calls at another batch: rewrites their uniforms in place. */
export function rewriteGather(
  gpu: Gpu,
  plan: StepPlan,
  data: GpuDataset,
  offset: number,
  batch: number,
): void {
  const calls = gatherCalls(data, plan.inputs, offset, batch);
  calls.forEach((c, i) => {
    const uniform = plan.prepared[i]?.uniform;
    if (!uniform || !c.params) throw new ShadergradError('plan has no gather prelude');
    gpu.device.queue.writeBuffer(uniform, 0, c.params);
  });
}

function metricCalls(
  t: Trainer,
  m: {
    loss: GpuTensor;
    logits: GpuTensor;
    labels: GpuTensor;
    lossKind: 'softmaxCrossEntropy' | 'mse';
  },
  batch: number,
): KernelCallList {
  if (m.lossKind === 'mse') {
    // mse's per-sample losses are already divided by N*D: their sum is the mean.
    return [lossMean({ loss: m.loss, total: t.lossSum, N: batch, scale: 1, accumulate: true })];
  }
  const K = m.logits.shape[1] ?? 1;
  return [
    lossMean({ loss: m.loss, total: t.lossSum, N: batch, accumulate: true }),
    accuracyCount({
      logits: m.logits,
      labels: m.labels,
      correct: t.correct,
      N: batch,
      K,
      accumulate: true,
    }),
  ];
}

async function runSteps(
  t: Trainer,
  plan: StepPlan,
  data: GpuDataset,
  steps: number,
  batch: number,
  readEvery: number,
  onProgress?: (p: EpochProgress) => void,
) {
  const start = performance.now();
  t.resetMetrics();
  const staging = [0, 1].map(() =>
    t.gpu.device.createBuffer({
      label: 'metrics.staging',
      size: 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }),
  );
  let pending: Promise<void> | undefined;
  let last = { lossSum: 0, correct: 0 };
  try {
    for (let step = 0; step < steps; step++) {
      rewriteGather(t.gpu, plan, data, step * batch, batch);
      const read = (step + 1) % readEvery === 0 || step === steps - 1;
      const buffer = staging[Math.floor(step / readEvery) % 2] as GPUBuffer;
      const encoder = t.gpu.device.createCommandEncoder({ label: 'step' });
      const pass = encoder.beginComputePass({ label: 'step' });
      plan.encode(pass);
      pass.end();
      if (read) {
        encoder.copyBufferToBuffer(t.lossSum.buffer, 0, buffer, 0, 4);
        encoder.copyBufferToBuffer(t.correct.buffer, 0, buffer, 4, 4);
      }
      t.gpu.device.queue.submit([encoder.finish()]);
      if (!read) continue;
      await pending; // at most two readbacks in flight: the CPU stays <= 2*readEvery steps ahead
      pending = buffer.mapAsync(GPUMapMode.READ).then(() => {
        const view = buffer.getMappedRange();
        last = {
          lossSum: new Float32Array(view, 0, 1)[0] ?? NaN,
          correct: new Uint32Array(view, 4, 1)[0] ?? 0,
        };
        buffer.unmap();
        checkFinite(last.lossSum, `training loss at step ${step + 1}`);
        onProgress?.({
          step: step + 1,
          steps,
          samples: (step + 1) * batch,
          loss: last.lossSum / (step + 1),
          seconds: (performance.now() - start) / 1000,
        });
      });
    }
    await pending;
  } finally {
    staging.forEach((b) => b.destroy());
  }
  return { ...last, seconds: (performance.now() - start) / 1000 };
}

function checkFinite(v: number, what: string): number {
  if (!Number.isFinite(v))
    throw new ShadergradError(`${what} is ${v}: training diverged (lower the learning rate?)`);
  return v;
}

/** Fisher-Yates with a seeded generator: the same seed gives the same order on every machine. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const random = mulberry32(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = p[i] ?? 0;
    p[i] = p[j] ?? 0;
    p[j] = tmp;
  }
  return p;
}

function softmaxRows(logits: Float32Array, K: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / K; r++) {
    const row = logits.subarray(r * K, r * K + K);
    const max = Math.max(...row);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp((row[k] ?? 0) - max);
    for (let k = 0; k < K; k++) out[r * K + k] = Math.exp((row[k] ?? 0) - max) / sum;
  }
  return out;
}
