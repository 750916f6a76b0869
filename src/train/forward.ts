/**
 * Forward-only runs on compiled plans, shared by Trainer and Predictor so both feed, run and read
 * a model the same way (and so give the same numbers): checked host inputs, predictions for host
 * images, loss and accuracy over a GPU dataset, the options of a step's plan, and compiling with
 * one retry after an out-of-memory error.
 */
import type { Gpu } from '../gpu/device';
import { readFloat32, readTensor, writeTensor } from '../gpu/buffers';
import { ShadergradError } from '../base/errors';
import type { PlanOptions, Precision, StepPlan } from '../graph/executor';
import { OutOfMemoryError } from '../gpu/memory';
import { elementCount, type GpuTensor } from '../gpu/tensor';
import type { MatmulVariant } from '../kernels/index';
import type { TuneOptions } from '../graph/tuneReport';
import { gatherCalls, metricCalls, rewriteGather, type GpuDataset } from './epoch';

/** f32 [1] running loss sum and u32 [1] running correct count, on the GPU. */
export interface MetricTensors {
  readonly lossSum: GpuTensor;
  readonly correct: GpuTensor;
}

/**
 * Writes every input of the plan from `feeds`, by name. A missing, mistyped or wrong-sized one,
 * or a label outside the model's classes, throws before anything is written.
 */
export function writeInputs(
  gpu: Gpu,
  plan: StepPlan,
  feeds: Readonly<Record<string, Float32Array | Int32Array>>,
): void {
  const checked = [...plan.inputs].map(
    ([name, t]) => [t, checkInput(plan, name, t, feeds)] as const,
  );
  for (const [t, data] of checked) writeTensor(gpu, t, data);
}

function checkInput(
  plan: StepPlan,
  name: string,
  t: GpuTensor,
  feeds: Readonly<Record<string, Float32Array | Int32Array>>,
): Float32Array | Int32Array {
  const data = feeds[name];
  if (!data) throw new ShadergradError(`input '${name}' [${t.shape.join(', ')}] was not given`);
  const want = t.dtype === 'i32' ? 'Int32Array' : 'Float32Array';
  if (data.constructor.name !== want)
    throw new ShadergradError(`input '${name}': expected an ${want}, got ${data.constructor.name}`);
  const expected = elementCount(t.shape);
  if (data.length !== expected)
    throw new ShadergradError(
      `input '${name}': expected ${expected} values [${t.shape.join(', ')}], got ${data.length}`,
    );
  if (data instanceof Float32Array && !data.every(Number.isFinite))
    throw new ShadergradError(`input '${name}' holds NaN or infinite values`);
  if (name === 'labels') checkLabels(data, classesOf(plan), `input 'labels'`);
  return data;
}

/** The classes a cross-entropy plan's labels index: the width of its logits. */
function classesOf(plan: StepPlan): number {
  return plan.outputs.logits.shape[1] ?? 1;
}

/**
 * Refuses a label that is not a class of the model: the loss of label -1 or 10 of 10 classes is
 * NaN, and a training step would apply it to the weights.
 */
export function checkLabels(labels: ArrayLike<number>, classes: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] ?? 0;
    if (!(Number.isInteger(v) && v >= 0 && v < classes))
      throw new ShadergradError(
        `${what}: label ${v} at index ${i} is not a class of this model (0 to ${classes - 1})`,
      );
  }
}

/** Refuses a GPU dataset whose labels (recorded at upload) do not fit the plan's classes. */
export function checkDatasetLabels(plan: StepPlan, data: GpuDataset): void {
  if (!plan.inputs.has('labels')) return;
  const { index, value } = data.maxLabel;
  const classes = classesOf(plan);
  if (value >= classes)
    throw new ShadergradError(
      `dataset: label ${value} at index ${index} is not a class of this model (0 to ${classes - 1})`,
    );
}

/**
 * Runs an evaluation plan on host images (its batch of them) and reads the outputs: class
 * probabilities (softmax of the logits, on the CPU) for a cross-entropy model, the raw outputs
 * for an MSE one. Other inputs (labels, targets) only feed the loss, so they get zeros.
 */
export async function predictOn(
  gpu: Gpu,
  plan: StepPlan,
  images: Float32Array,
): Promise<Float32Array> {
  const feeds: Record<string, Float32Array | Int32Array> = { images };
  for (const [name, t] of plan.inputs) {
    if (name !== 'images')
      feeds[name] =
        t.dtype === 'i32'
          ? new Int32Array(elementCount(t.shape))
          : new Float32Array(elementCount(t.shape));
  }
  writeInputs(gpu, plan, feeds);
  plan.submit();
  const outputs = await readFloat32(gpu, plan.outputs.logits);
  return plan.inputs.has('labels')
    ? softmaxRows(outputs, plan.outputs.logits.shape[1] ?? 1)
    : outputs;
}

/** Row-wise softmax of [rows, K] logits, max-subtracted so large logits do not overflow. */
export function softmaxRows(logits: Float32Array, K: number): Float32Array {
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

/**
 * Mean loss and accuracy over every sample of `data`, in file order, in batches of at most
 * `batch`; `planFor(b)` gives an evaluation plan of b samples gathering from `data` whose
 * metrics add into `metrics`.
 */
export async function evaluateOn(
  gpu: Gpu,
  metrics: MetricTensors,
  data: GpuDataset,
  batch: number,
  planFor: (b: number) => Promise<StepPlan>,
): Promise<{ loss: number; accuracy: number }> {
  if (data.device !== gpu.device)
    throw new ShadergradError(
      'dataset is on another device than the model: after a device loss, upload it again with uploadDataset(newGpu, ...)',
    );
  writeTensor(
    gpu,
    data.perm,
    Uint32Array.from({ length: data.count }, (_, i) => i),
  );
  writeTensor(gpu, metrics.correct, new Uint32Array(1));
  let done = 0;
  let lossWeighted = 0;
  while (done < data.count) {
    const b = Math.min(batch, data.count - done);
    const plan = await planFor(b);
    checkDatasetLabels(plan, data);
    rewriteGather(gpu, plan, data, done, b);
    writeTensor(gpu, metrics.lossSum, new Float32Array(1));
    plan.submit();
    const [l] = await readFloat32(gpu, metrics.lossSum);
    lossWeighted += (l ?? NaN) * b;
    done += b;
  }
  const [correct] = await readTensor(gpu, metrics.correct);
  return { loss: lossWeighted / data.count, accuracy: (correct ?? 0) / data.count };
}

/** What a step's plan is compiled with, for a trainer or a predictor. */
export interface StepPlanSetup {
  training: boolean;
  batch: number;
  /** Gather each batch from this dataset on the GPU (else inputs come from the host). */
  data?: GpuDataset | undefined;
  /** Add each batch's loss and correct count into these. */
  metrics?: MetricTensors | undefined;
  matmulVariant?: MatmulVariant | undefined;
  tune?: TuneOptions | undefined;
  keepIntermediates?: boolean | undefined;
  precision?: Precision | undefined;
}

export function stepPlanOptions(s: StepPlanSetup): PlanOptions {
  const { data, metrics, batch } = s;
  return {
    training: s.training,
    ...(s.matmulVariant ? { matmulVariant: s.matmulVariant } : {}),
    ...(s.tune ? { tune: s.tune } : {}),
    keepIntermediates: s.keepIntermediates ?? false,
    ...(s.precision ? { precision: s.precision } : {}),
    ...(data
      ? {
          prelude: (inputs: ReadonlyMap<string, GpuTensor>) => gatherCalls(data, inputs, 0, batch),
        }
      : {}),
    ...(metrics ? { metrics: (m) => metricCalls(metrics, m, batch) } : {}),
  };
}

/**
 * Compiles a plan. Out of memory, it frees what the attempt allocated, waits for destroyed
 * buffers' memory to come back (it does only once the queue moves on) and tries once more.
 */
export async function compileRetrying(
  gpu: Gpu,
  what: string,
  compile: () => Promise<StepPlan>,
): Promise<StepPlan> {
  for (let attempt = 0; ; attempt++) {
    const before = gpu.memory.liveSet();
    try {
      return await compile();
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      for (const b of gpu.memory.liveSet()) if (!before.has(b)) b.destroy();
      await gpu.reclaim();
      if (attempt > 0) throw new ShadergradError(`${what}: ${e.message}`, { cause: e });
    }
  }
}
