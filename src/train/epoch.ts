/**
 * The inner loop of a training epoch on a GPU dataset, and the calls a step adds around the
 * model: batch gathering first, metrics after the forward pass. The dataset is uploaded once as
 * bytes; each epoch uploads a seeded permutation, and every step gathers its batch on the GPU
 * (the only per-step CPU writes are the two 16-byte gather uniforms holding the batch offset).
 * Loss and correct counts accumulate on the GPU and are read back every `readEvery` steps through
 * two staging buffers, which also bounds how far the CPU runs ahead of the GPU. Snapshot steps
 * add their copies to the same submit (see snapshot.ts).
 */
import type { Gpu } from '../gpu/device';
import { createTensor, uploadTensor, writeTensor } from '../gpu/buffers';
import { ShadergradError } from '../base/errors';
import type { StepPlan } from '../graph/executor';
import { mulberry32 } from '../base/random';
import type { Snapshots } from './snapshot';
import type { GpuTensor } from '../gpu/tensor';
import type { KernelCall } from '../gpu/dispatch';
import { accuracyCount, gatherImages, gatherLabels, lossMean } from '../kernels/index';

/** A dataset on the GPU: raw bytes, as the IDX files hold them. */
export interface GpuDataset {
  readonly images: GpuTensor;
  readonly labels: GpuTensor;
  readonly perm: GpuTensor;
  readonly count: number;
  /** Per-sample shape, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  /** What it was uploaded from (a file, a dataset name), for messages. */
  readonly name?: string | undefined;
  /** The device holding it: after a device loss, upload the dataset again to the new one. */
  readonly device: GPUDevice;
  /** The largest label and its first sample, checked against a model's classes before use. */
  readonly maxLabel: { readonly index: number; readonly value: number };
}

export function uploadDataset(
  gpu: Gpu,
  d: {
    images: Uint8Array;
    labels: Uint8Array;
    count: number;
    sampleShape: readonly number[];
    /** Named in messages, e.g. the images file; default 'dataset'. */
    name?: string | undefined;
  },
): GpuDataset {
  const pixels = d.sampleShape.reduce((a, b) => a * b, 1);
  if (d.images.length !== d.count * pixels)
    throw new ShadergradError(
      `dataset: ${d.images.length} image bytes for ${d.count} samples of ${pixels}`,
    );
  if (d.labels.length !== d.count)
    throw new ShadergradError(`dataset: ${d.labels.length} labels for ${d.count} samples`);
  const perm = createTensor(gpu, [d.count], {
    dtype: 'u32',
    label: 'dataset.perm',
    contents: 'data',
  });
  writeTensor(
    gpu,
    perm,
    Uint32Array.from({ length: d.count }, (_, i) => i),
  );
  return {
    images: uploadTensor(gpu, d.images, [d.count, pixels], {
      dtype: 'u8',
      label: 'dataset.images',
      contents: 'data',
    }),
    labels: uploadTensor(gpu, d.labels, [d.count], {
      dtype: 'u8',
      label: 'dataset.labels',
      contents: 'data',
    }),
    perm,
    count: d.count,
    sampleShape: d.sampleShape,
    name: d.name,
    device: gpu.device,
    maxLabel: largest(d.labels),
  };
}

function largest(labels: Uint8Array): { index: number; value: number } {
  let index = 0;
  for (let i = 1; i < labels.length; i++) if ((labels[i] ?? 0) > (labels[index] ?? 0)) index = i;
  return { index, value: labels[index] ?? 0 };
}

export interface EpochProgress {
  /** Batches of the epoch done, of `steps`. */
  step: number;
  steps: number;
  samples: number;
  /** Mean training loss over the steps so far this epoch. */
  loss: number;
  /** Since this call began, at batch `firstStep` (not 0 after a resume mid-epoch). */
  seconds: number;
  firstStep: number;
}

export function gatherCalls(
  data: GpuDataset,
  inputs: ReadonlyMap<string, GpuTensor>,
  offset: number,
  batch: number,
): KernelCall[] {
  const images = inputs.get('images');
  const labels = inputs.get('labels');
  if (!images || !labels)
    throw new ShadergradError("graph needs inputs named 'images' and 'labels'");
  checkSampleShape(data, images.shape.slice(1));
  return [
    gatherImages({ images: data.images, perm: data.perm, out: images, offset, batch }),
    gatherLabels({ labels: data.labels, perm: data.perm, out: labels, offset, batch }),
  ];
}

/**
 * The one check that a dataset's samples are the model's input: the shape, not only the element
 * count (14x56 images hold as many pixels as 28x28 ones and would train as garbage).
 */
export function checkSampleShape(data: GpuDataset, input: readonly number[]): void {
  const same =
    data.sampleShape.length === input.length && data.sampleShape.every((n, i) => n === input[i]);
  if (!same)
    throw new ShadergradError(
      `${data.name ?? 'dataset'}: images are ${data.sampleShape.join('x')} (channels x rows x cols), the model's input is ${input.join('x')} (channels x height x width)`,
    );
}

/** The step's metrics: the batch's mean loss and correct count, added to the running sums. */
export function metricCalls(
  t: { readonly lossSum: GpuTensor; readonly correct: GpuTensor },
  m: {
    loss: GpuTensor;
    logits: GpuTensor;
    labels: GpuTensor;
    lossKind: 'softmaxCrossEntropy' | 'mse';
  },
  batch: number,
): KernelCall[] {
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

/** One epoch's steps from batch `start` on; the metrics tensors hold the sums before it. */
export interface EpochRun {
  readonly gpu: Gpu;
  readonly plan: StepPlan;
  readonly data: GpuDataset;
  readonly epoch: number;
  readonly steps: number;
  readonly start: number;
  readonly batch: number;
  readonly readEvery: number;
  /** The run's seed: epoch e shuffles with permutationSeed(e, seed). */
  readonly seed: number;
  readonly metrics: { readonly lossSum: GpuTensor; readonly correct: GpuTensor };
  readonly snapshots: Snapshots;
  readonly onProgress?: (p: EpochProgress) => void;
}

/** Runs the steps; resolves to the epoch's final loss sum and correct count. */
export async function runSteps(r: EpochRun) {
  const started = performance.now();
  const staging = [0, 1].map(() =>
    r.gpu.device.createBuffer({
      label: 'metrics.staging',
      size: 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }),
  );
  let pending: Promise<void> | undefined;
  let last = { lossSum: 0, correct: 0 };
  try {
    for (let step = r.start; step < r.steps; step++) {
      throwIfLost(r.gpu);
      const read = (step + 1) % r.readEvery === 0 || step === r.steps - 1;
      const buffer = staging[Math.floor(step / r.readEvery) % 2] as GPUBuffer;
      const global = (r.epoch - 1) * r.steps + step + 1;
      // Always at the epoch's end too, so a loss later never rewinds into a finished epoch.
      const snapshot = r.snapshots.enabled && (r.snapshots.due(global) || step === r.steps - 1);
      if (snapshot) await r.snapshots.ready();
      // Again after the wait: a loss meanwhile abandons the copy in flight, not its buffer.
      throwIfLost(r.gpu);
      rewriteGather(r.gpu, r.plan, r.data, step * r.batch, r.batch);
      const encoder = r.gpu.device.createCommandEncoder({ label: 'step' });
      const pass = encoder.beginComputePass({ label: 'step' });
      r.plan.encode(pass);
      pass.end();
      if (read) {
        encoder.copyBufferToBuffer(r.metrics.lossSum.buffer, 0, buffer, 0, 4);
        encoder.copyBufferToBuffer(r.metrics.correct.buffer, 0, buffer, 4, 4);
      }
      if (snapshot) r.snapshots.encode(encoder);
      r.gpu.device.queue.submit([encoder.finish()]);
      if (snapshot) r.snapshots.collect(placeAfter(r, step + 1, global));
      if (!read) continue;
      await pending; // at most two readbacks in flight: the CPU stays <= 2*readEvery steps ahead
      pending = readMetrics(r, buffer, step, started).then((m) => {
        last = m;
      });
      // Awaited at the next read-back; rejecting before that (say while a snapshot is awaited)
      // must not count as unhandled, which would end a Node process.
      pending.catch(() => undefined);
    }
    await pending;
  } finally {
    pending?.catch(() => undefined); // a step failed first: that error is the one to report
    staging.forEach((b) => b.destroy());
  }
  return { ...last, seconds: (performance.now() - started) / 1000 };
}

/** A function, not an inline check, so the compiler does not assume it unchanged after an await. */
function throwIfLost(gpu: Gpu): void {
  if (gpu.lostError) throw gpu.lostError;
}

/** The position after `done` batches; the end of an epoch is the start of the next one. */
function placeAfter(r: EpochRun, done: number, global: number) {
  const end = done === r.steps;
  return {
    position: end ? { epoch: r.epoch + 1, batch: 0 } : { epoch: r.epoch, batch: done },
    step: global,
    permutationSeed: permutationSeed(end ? r.epoch + 1 : r.epoch, r.seed),
  };
}

/** Seed of epoch `epoch`'s shuffle for a run seeded `seed`. */
export function permutationSeed(epoch: number, seed: number): number {
  return seed * 1000 + epoch;
}

async function readMetrics(r: EpochRun, buffer: GPUBuffer, step: number, started: number) {
  const mapped = buffer.mapAsync(GPUMapMode.READ);
  mapped.catch(() => undefined); // if the device is lost first, nobody awaits this one
  // A lost device may never resolve mapAsync: race it against the loss.
  await Promise.race([mapped, r.gpu.lost.then((e) => Promise.reject(e))]);
  const view = buffer.getMappedRange();
  const m = {
    lossSum: new Float32Array(view, 0, 1)[0] ?? NaN,
    correct: new Uint32Array(view, 4, 1)[0] ?? 0,
  };
  buffer.unmap();
  checkFinite(m.lossSum, `training loss at step ${step + 1}`, step + 1);
  r.onProgress?.({
    step: step + 1,
    steps: r.steps,
    samples: (step + 1) * r.batch,
    loss: m.lossSum / (step + 1),
    seconds: (performance.now() - started) / 1000,
    firstStep: r.start,
  });
  return m;
}

/** Training stopped on a non-finite loss; `step` is the epoch's step (1-based) that showed it. */
export class DivergenceError extends ShadergradError {
  constructor(
    message: string,
    readonly step: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DivergenceError';
  }
}

export function checkFinite(v: number, what: string, step?: number): number {
  if (!Number.isFinite(v))
    throw new DivergenceError(
      `${what} is ${v}: training diverged (lower the learning rate?)`,
      step,
    );
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
