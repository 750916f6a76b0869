/**
 * Shared pieces of the training benchmark (bench/train.ts) and its peers: the options, the real
 * MNIST batches and the text windows every framework trains on (the same ones, in the same
 * order), the timing loop with its GPU call counters, and the navigator.gpu shim
 * tfjs-backend-webgpu and jax-js need in Node. Node only.
 *
 * Timing: each step is started and then awaited until its GPU work is done (a framework's step
 * function does both), so one step's time is wall-clock from launch to completion; the reported
 * time is the median over the timed steps and samples/s = batch / median step time.
 */
import { availableParallelism } from 'node:os';
import { mulberry32 } from '../../src/base/random';
import { median } from '../../src/gpu/timing';
import { summarizeAdapter } from '../../src/gpu/device';
import { platform } from '../../src/gpu/platform.node';
import type { ModelConfig } from '../../src/models/config';
import { progress } from '../report';
import { stepBlocks, type Turn } from '../turns';

export interface BenchOptions {
  /** Timed steps per framework. */
  steps: number;
  /** Untimed steps first (pipeline compiles, jit tracing, buffer pools filling up). */
  warmup: number;
  /** The timed steps in this many blocks, one per round (bench/turns.ts). */
  rounds: number;
  /** Where frameworks run in turns: passed between blocks so the others run theirs. */
  turn?: Turn;
  batch: number;
  /** Adam, as torch.optim.Adam: lr, beta1, beta2, eps. */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number;
}

export interface FrameworkResult {
  samplesPerS: number;
  stepMsMedian: number;
  steps: number;
  stepMsMin: number;
  stepMsMax: number;
  /** The median step of each round's block, in round order. */
  roundMsMedians: number[];
  /** Mean training loss over the timed steps: a check that real training happened. */
  lossMean: number;
  /** Compute backend the framework really used, e.g. 'webgpu'. */
  backend: string;
  adapter: string;
  /** Trainable scalars, to check that every framework built the same model. */
  parameters: number;
  submitsPerStep: number;
  buffersPerStep: number;
  bindGroupsPerStep: number;
  /** shadergrad only: the plan's GPU memory (parameters, state, planned intermediates). */
  plannedBytes?: number;
  /** Sequence models only: samplesPerS × the positions per sample (the GPT's context). */
  tokensPerS?: number;
}

/** The model every framework trains: the reference CNN, the ResNet or the ViT preset. */
export interface BenchModel {
  kind: 'cnn' | 'resnet' | 'vit';
  /** shadergrad's layer list, the spec each peer writes in its own ops. */
  config: ModelConfig;
  /** For the table and the JSON's `model`. */
  description: string;
}

export type FrameworkSlot = FrameworkResult | { error: string } | { skipped: string };

/** One framework's training loop as the timer sees it. */
export interface StepRunner {
  /** The device its GPU work goes to (where submits, buffers and bind groups are counted). */
  readonly device: GPUDevice;
  /** Runs training step `index` on batch `index` and resolves once its GPU work is done. */
  step(index: number): Promise<void>;
  /** Mean loss of the steps run since `resetLoss`. */
  lossMean(): Promise<number>;
  resetLoss(): void;
}

/** Loss bookkeeping for runners that read each step's loss back to the host. */
export function lossMeter(): Pick<StepRunner, 'lossMean' | 'resetLoss'> & { add(v: number): void } {
  let sum = 0;
  let count = 0;
  return {
    add(v) {
      sum += v;
      count++;
    },
    lossMean: () => Promise.resolve(sum / count),
    resetLoss() {
      sum = 0;
      count = 0;
    },
  };
}

/** The training set as raw bytes plus the seeded order all frameworks walk through. */
export interface MnistOrder {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** Pixels per image (784). */
  pixels: number;
  perm: Uint32Array;
}

/** One step's windows of a text: tokens [batch, context] and the next ids, labels [batch, context]. */
export interface TextWindow {
  tokens: Uint32Array;
  labels: Int32Array;
}

/** Step `index`'s windows; every framework reads the same list, so the same windows in order. */
export function windowAt(windows: readonly TextWindow[], index: number): TextWindow {
  const w = windows[index];
  if (!w) throw new Error(`bench: no window for step ${index} (${windows.length} prepared)`);
  return w;
}

export interface HostBatch {
  /** [batch, pixels] = byte / 255, as shadergrad's batchGather computes on the GPU. */
  images: Float32Array;
  labels: Int32Array;
}

/** First sample of batch `step`: batches wrap around at the end of the epoch (last one dropped). */
export function batchOffset(count: number, batch: number, step: number): number {
  return (step % Math.floor(count / batch)) * batch;
}

/** Batch `step` on the host, the same samples shadergrad gathers on the GPU for that step. */
export function hostBatch(d: MnistOrder, batch: number, step: number): HostBatch {
  const offset = batchOffset(d.count, batch, step);
  const images = new Float32Array(batch * d.pixels);
  const labels = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const sample = d.perm[offset + b] ?? 0;
    labels[b] = d.labels[sample] ?? 0;
    for (let p = 0; p < d.pixels; p++)
      images[b * d.pixels + p] = (d.images[sample * d.pixels + p] ?? 0) / 255;
  }
  return { images, labels };
}

/** Uniform(-1/sqrt(fanIn), 1/sqrt(fanIn)) initial values, torch's default and shadergrad's. */
export function initUniform(
  shape: readonly number[],
  fanIn: number,
  random: () => number,
): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * bound;
  return out;
}

export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

interface CallCounts {
  submits: number;
  buffers: number;
  bindGroups: number;
}

/** Wraps device.createBuffer / createBindGroup and queue.submit to count calls until restore(). */
function countGpuCalls(device: GPUDevice): { counts: CallCounts; restore(): void } {
  const counts: CallCounts = { submits: 0, buffers: 0, bindGroups: 0 };
  const { queue } = device;
  const createBuffer = device.createBuffer.bind(device);
  const createBindGroup = device.createBindGroup.bind(device);
  const submit = queue.submit.bind(queue);
  device.createBuffer = (d: GPUBufferDescriptor) => (counts.buffers++, createBuffer(d));
  device.createBindGroup = (d: GPUBindGroupDescriptor) => (counts.bindGroups++, createBindGroup(d));
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => (counts.submits++, submit(buffers));
  return {
    counts,
    restore() {
      device.createBuffer = createBuffer;
      device.createBindGroup = createBindGroup;
      queue.submit = submit;
    },
  };
}

/**
 * Warm-up steps, then the timed steps with the GPU calls they make counted, in `o.rounds` blocks;
 * with `o.turn`, the other frameworks run a block of theirs before each of these.
 */
export async function measure(
  name: string,
  runner: StepRunner,
  o: BenchOptions,
): Promise<Omit<FrameworkResult, 'backend' | 'adapter' | 'parameters'>> {
  for (let i = 0; i < o.warmup; i++) {
    const start = performance.now();
    await runner.step(i);
    progress(`${name}: warm-up ${i + 1}/${o.warmup} ${(performance.now() - start).toFixed(0)} ms`);
  }
  runner.resetLoss();
  const times: number[] = [];
  const roundMsMedians: number[] = [];
  const blocks = stepBlocks(o.steps, o.rounds);
  const counter = countGpuCalls(runner.device);
  try {
    for (const [round, size] of blocks.entries()) {
      // The others count on their own devices, so this one's counters may stay on meanwhile.
      if (o.turn) await o.turn.pass();
      const block: number[] = [];
      for (let i = 0; i < size; i++) {
        const start = performance.now();
        await runner.step(o.warmup + times.length);
        const ms = performance.now() - start;
        times.push(ms);
        block.push(ms);
        progress(
          `${name}: round ${round + 1}/${blocks.length}, step ${times.length}/${o.steps} ${ms.toFixed(0)} ms`,
        );
      }
      roundMsMedians.push(median(block));
    }
  } finally {
    counter.restore();
  }
  const stepMsMedian = median(times);
  const lossMean = await runner.lossMean();
  if (!Number.isFinite(lossMean)) throw new Error(`${name}: training loss is ${lossMean}`);
  return {
    samplesPerS: (o.batch * 1000) / stepMsMedian,
    stepMsMedian,
    steps: o.steps,
    stepMsMin: Math.min(...times),
    stepMsMax: Math.max(...times),
    roundMsMedians,
    lossMean,
    submitsPerStep: counter.counts.submits / o.steps,
    buffersPerStep: counter.counts.buffers / o.steps,
    bindGroupsPerStep: counter.counts.bindGroups / o.steps,
  };
}

/** "description / vendor / architecture" of the adapter behind a device, the same for all. */
export function describeDevice(device: GPUDevice): string {
  const info = device.adapterInfo;
  return [info.description, info.vendor, info.architecture].filter((s) => s !== '').join(' / ');
}

// Dawn's GPU object must outlive the adapters and devices made from it.
let dawnGpu: GPU | undefined;

/**
 * Gives Node a browser-like `navigator.gpu` from the `webgpu` package (Dawn), for the peers that
 * look for it. Node 21+ has a `navigator` without `gpu`; Node 20 has none. Also installs
 * GPUBufferUsage and friends, and on a software adapter throttles Dawn's poll loop as
 * initDevice does (src/gpu/dawnPolling.ts). Idempotent.
 */
export async function installNavigatorGpu(): Promise<void> {
  if (dawnGpu) return;
  const { create, globals } = await import('webgpu');
  for (const [name, value] of Object.entries(globals))
    if (!(name in globalThis))
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  dawnGpu = create([]);
  // The same poll policy as shadergrad's initDevice, whichever framework runs first.
  const adapter = await dawnGpu.requestAdapter();
  if (adapter) platform.adapterChosen(summarizeAdapter(adapter.info).isSoftware);
  const host = globalThis as { navigator?: object };
  if (host.navigator === undefined) {
    const navigatorShim = {
      gpu: dawnGpu,
      userAgent: `Node.js/${process.versions.node}`,
      hardwareConcurrency: availableParallelism(),
    };
    Object.defineProperty(globalThis, 'navigator', {
      value: navigatorShim,
      configurable: true,
      writable: true,
    });
  } else {
    Object.defineProperty(host.navigator, 'gpu', { value: dawnGpu, configurable: true });
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
