/**
 * TensorFlow.js (tfjs-backend-webgpu) on the same shapes as the page's matmul and training-step
 * rows, for shadergrad/tfjs ratios. tfjs asks navigator.gpu for its own adapter and device, so
 * both run on the same GPU but on separate devices, never at once: the matmuls after shadergrad's,
 * the training step in turns with shadergrad's, one step each (the train suite drives it through
 * openTfjsTrainStep), so a machine whose speed drifts slows both sides alike.
 *
 * Timing is wall clock, since tfjs queues work and submits it lazily:
 *   matmul:     per sample, REPEAT tf.matMul calls on [N, N] inputs, then await a 1-element
 *               slice of the last result (its read-back waits for every queued matmul); ms per
 *               matmul = sample / REPEAT; GFLOP/s = 2·N³ / (ms·1e6).
 *   train step: upload the batch, optimizer.minimize (forward, backward, Adam) on the page's
 *               training-step model, read the loss back, wait for the queue to drain: as the
 *               page's Trainer.trainStep row. samples/s = batch / (ms / 1e3).
 * Medians over `reps` samples after `warmup` untimed ones. tfjs is loaded with a dynamic
 * import, so a failure to load it only adds `{ error }` to the report.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { type TrainConfig } from '../../src/index';
import { median, randomFloats, randomInts } from '../../src/kernelApi';
import { MATMUL_WALL_REPEAT, type BenchContext, type BenchRow } from './common';
import { tfjsForward, tfjsParameters } from './tfjsModel';

type Tf = typeof TfModule;

/** Matmuls per timed sample: amortizes the read-back that ends each sample. */

export interface TfjsTiming {
  kernel: string;
  shape: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  value: number;
  unit: 'GFLOP/s' | 'samples/s';
}

/** One shadergrad row against the tfjs timing of the same work; ratio = shadergrad / tfjs. */
export interface TfjsRatio {
  kernel: string;
  shape: string;
  unit: TfjsTiming['unit'];
  shadergrad: number;
  tfjs: number;
  ratio: number;
}

export type TfjsReport =
  | {
      version: string;
      backend: string;
      /** tfjs's own device's adapter (same GPU as shadergrad's, separate GPUDevice). */
      adapter: string;
      method: string;
      matmul: TfjsTiming[];
      train: TfjsTiming[];
      ratios: TfjsRatio[];
    }
  | { error: string };

async function loadTfjs(): Promise<{ tf: Tf; backend: WebGPUBackend }> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the tfjs webgpu backend did not start');
  await tf.ready();
  return { tf, backend: tf.backend() as WebGPUBackend };
}

async function samples(ctx: BenchContext, run: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < ctx.options.warmup; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < ctx.options.reps; i++) ms.push(await run());
  return ms;
}

function timing(base: Omit<TfjsTiming, 'medianMs' | 'minMs' | 'maxMs' | 'samples' | 'value'>) {
  return (ms: number[], work: number): TfjsTiming => {
    const medianMs = median(ms);
    const perSecond = (work * 1000) / medianMs;
    return {
      ...base,
      medianMs,
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      samples: ms.length,
      value: base.unit === 'GFLOP/s' ? perSecond / 1e9 : perSecond,
    };
  };
}

async function timeMatmul(tf: Tf, ctx: BenchContext, n: number): Promise<TfjsTiming> {
  const a = tf.tensor2d(randomFloats(n * n, 1), [n, n]);
  const b = tf.tensor2d(randomFloats(n * n, 2), [n, n]);
  ctx.log(`tfjs matMul ${n}x${n}x${n}`);
  const ms = await samples(ctx, async () => {
    const start = performance.now();
    const outs: Tensor[] = [];
    for (let k = 0; k < MATMUL_WALL_REPEAT; k++) outs.push(tf.matMul(a, b));
    const last = outs[outs.length - 1] ?? a;
    const probe = tf.slice(last, [0, 0], [1, 1]);
    await probe.data();
    const elapsed = performance.now() - start;
    [probe, ...outs].forEach((t) => t.dispose());
    return elapsed / MATMUL_WALL_REPEAT;
  });
  [a, b].forEach((t) => t.dispose());
  const base = { kernel: 'tf.matMul', shape: `${n}x${n}x${n}`, unit: 'GFLOP/s' } as const;
  return timing(base)(ms, 2 * n ** 3);
}

/** tfjs's training step, set up once and timed step by step: by itself or in turns. */
export interface TfjsTrainStep {
  /** One step: upload, minimize, loss read-back, queue drained; resolves to its wall-clock ms. */
  step(): Promise<number>;
  /** The timing row for `ms`, the timed steps. */
  timing(ms: number[]): TfjsTiming;
  dispose(): void;
}

/**
 * Loads tfjs and builds the page's training-step model in it (the shapes of `config`, random
 * inputs): the peer of the page's Trainer.trainStep row, labelled `shape` to pair with it.
 */
export async function openTfjsTrainStep(
  ctx: BenchContext,
  config: TrainConfig,
  shape: string,
): Promise<TfjsTrainStep> {
  const { tf, backend } = await loadTfjs();
  const { model, optimizer: o, batchSize: B } = config;
  const { input } = model;
  // Uniform(-1, 1) / sqrt(fanIn), one seed per parameter: only the scale matters for timing.
  let seed = 0;
  const params = tfjsParameters(tf, model, (shape, fanIn) =>
    randomFloats(
      shape.reduce((a, b) => a * b, 1),
      ++seed,
    ).map((v) => v / Math.sqrt(fanIn)),
  );
  // Batch norm's running statistics are variables too, but no optimizer's to update.
  const varList = [...params.values()].filter((v) => v.trainable);
  const adam = tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
  const images = randomFloats(B * input.height * input.width * input.channels, 91);
  const labels = randomInts(B, 92, 10);
  ctx.log(`tfjs training step, ${shape}`);
  const base = { kernel: 'tfjs minimize + loss read-back', shape, unit: 'samples/s' } as const;
  return {
    async step() {
      const start = performance.now();
      const cost = tf.tidy((): Scalar => {
        const x = tf.tensor4d(images, [B, input.height, input.width, input.channels]);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), model.classes);
        const c = adam.minimize(
          () => tf.losses.softmaxCrossEntropy<Tensor, Scalar>(y, tfjsForward(tf, model, params, x)),
          true,
          varList,
        );
        if (!c) throw new Error('tfjs: minimize returned no loss');
        return c;
      });
      const [loss] = await cost.data();
      cost.dispose();
      await backend.device.queue.onSubmittedWorkDone();
      if (!Number.isFinite(loss)) throw new Error(`tfjs training step: loss ${loss}`);
      return performance.now() - start;
    },
    timing: (ms) => timing(base)(ms, B),
    dispose() {
      adam.dispose();
      params.forEach((v) => v.dispose());
    },
  };
}

async function timeTrainStep(
  ctx: BenchContext,
  config: TrainConfig,
  shape: string,
): Promise<TfjsTiming> {
  const peer = await openTfjsTrainStep(ctx, config, shape);
  try {
    return peer.timing(await samples(ctx, () => peer.step()));
  } finally {
    peer.dispose();
  }
}

/** Pairs each shadergrad matmul / Trainer.trainStep row with the tfjs timing of its shape. */
function ratios(rows: readonly BenchRow[], tfjs: readonly TfjsTiming[]): TfjsRatio[] {
  return rows.flatMap((r) => {
    // Only rows timed as tfjs is (wall clock around the same work) are set against it.
    const isStep = r.suite === 'train' && r.kernel.startsWith('Trainer.trainStep');
    const isWallMatmul =
      r.suite === 'matmul' &&
      r.timing === 'wall-clock' &&
      r.kernel.endsWith('(wall clock, as tfjs)');
    if (!isWallMatmul && !isStep) return [];
    const peer = tfjs.find((t) => t.shape === r.shape && t.unit === r.unit);
    if (!peer) return [];
    const { kernel, shape } = r;
    const ratio = r.value / peer.value;
    return [{ kernel, shape, unit: peer.unit, shadergrad: r.value, tfjs: peer.value, ratio }];
  });
}

/** The page's training step for tfjs: its config and label, and tfjs's timing if already taken. */
export interface TfjsTrainCase {
  config: TrainConfig;
  shape: string;
  /** Taken in turns with shadergrad's steps by the train suite; else timed here, after it. */
  timed?: TfjsTiming;
}

/** Times tfjs on the matmul sizes and the training step the page ran; `rows` are shadergrad's. */
export async function benchTfjs(
  ctx: BenchContext,
  rows: readonly BenchRow[],
  train: TfjsTrainCase | undefined,
): Promise<TfjsReport> {
  let tf: Tf;
  let backend: WebGPUBackend;
  try {
    ({ tf, backend } = await loadTfjs());
  } catch (e) {
    return { error: `TensorFlow.js did not load: ${e instanceof Error ? e.message : String(e)}` };
  }
  const matmul: TfjsTiming[] = [];
  if (rows.some((r) => r.suite === 'matmul'))
    for (const n of ctx.options.sizes) matmul.push(await timeMatmul(tf, ctx, n));
  const step = train ? [train.timed ?? (await timeTrainStep(ctx, train.config, train.shape))] : [];
  const info = backend.device.adapterInfo;
  return {
    version: tf.version.tfjs,
    backend: tf.getBackend(),
    adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '),
    method:
      `wall clock; matmul: ${MATMUL_WALL_REPEAT} tf.matMul then await a 1-element read-back, ` +
      `after shadergrad's; train: minimize + loss read-back, ${
        train?.timed ? "one step in turn with each of shadergrad's" : "after shadergrad's"
      }`,
    matmul,
    train: step,
    ratios: ratios(rows, [...matmul, ...step]),
  };
}
