/**
 * TensorFlow.js (tfjs-backend-webgpu) on the same shapes as the page's matmul and training-step
 * rows, for shadergrad/tfjs ratios. tfjs asks navigator.gpu for its own adapter and device, so
 * both run on the same GPU but on separate devices, never at once: in turns with shadergrad's
 * rows, one sample each (the matmul and train suites drive them through openTfjsMatmul and
 * openTfjsTrainStep), so a machine whose speed drifts slows both sides alike; after shadergrad's
 * suites only where tfjs could not be set up beside them (`inTurns` false).
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
import type { Tensor } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { type TrainConfig } from '../../src/index';
import { median, randomFloats, randomInts } from '../../src/kernelApi';
import { MATMUL_WALL_REPEAT, type BenchContext, type BenchRow } from './common';
import { tfjsForward, tfjsParameters, tfjsTrainStep, type TfjsBatch } from './tfjsModel';

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
  /** Timed in turns with shadergrad's row, one sample each (else after shadergrad's suites). */
  inTurns: boolean;
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

function timing(
  base: Omit<TfjsTiming, 'medianMs' | 'minMs' | 'maxMs' | 'samples' | 'value' | 'inTurns'>,
) {
  return (ms: number[], work: number): Omit<TfjsTiming, 'inTurns'> => {
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

/** tfjs's side of one timed row, set up once and then run sample by sample. */
export interface TfjsPeer {
  /** One sample of the work; resolves to its wall-clock ms (per matmul for matmuls). */
  run(): Promise<number>;
  /** The timing row for `ms`, the timed samples. */
  timing(ms: number[]): Omit<TfjsTiming, 'inTurns'>;
  dispose(): void;
}

/** tf.matMul on random [n, n] inputs, timed as the header says (the "(wall clock, as tfjs)" peer). */
export async function openTfjsMatmul(ctx: BenchContext, n: number): Promise<TfjsPeer> {
  const { tf } = await loadTfjs();
  const a = tf.tensor2d(randomFloats(n * n, 1), [n, n]);
  const b = tf.tensor2d(randomFloats(n * n, 2), [n, n]);
  ctx.log(`tfjs matMul ${n}x${n}x${n}`);
  const base = { kernel: 'tf.matMul', shape: `${n}x${n}x${n}`, unit: 'GFLOP/s' } as const;
  return {
    async run() {
      const start = performance.now();
      const outs: Tensor[] = [];
      for (let k = 0; k < MATMUL_WALL_REPEAT; k++) outs.push(tf.matMul(a, b));
      const last = outs[outs.length - 1] ?? a;
      const probe = tf.slice(last, [0, 0], [1, 1]);
      await probe.data();
      const elapsed = performance.now() - start;
      [probe, ...outs].forEach((t) => t.dispose());
      return elapsed / MATMUL_WALL_REPEAT;
    },
    timing: (ms) => timing(base)(ms, 2 * n ** 3),
    dispose: () => [a, b].forEach((t) => t.dispose()),
  };
}

/**
 * Loads tfjs and builds the page's training-step model in it (the shapes of `config`, random
 * inputs): the peer of the page's Trainer.trainStep row, labelled `shape` to pair with it.
 */
export async function openTfjsTrainStep(
  ctx: BenchContext,
  config: TrainConfig,
  shape: string,
): Promise<TfjsPeer> {
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
  ctx.log(`tfjs training step, ${shape}`);
  const base = { kernel: 'tfjs minimize + loss read-back', shape, unit: 'samples/s' } as const;
  const batch: TfjsBatch = {
    images: randomFloats(B * input.height * input.width * input.channels, 91),
    labels: randomInts(B, 92, 10),
    shape: [B, input.height, input.width, input.channels],
    classes: model.classes,
  };
  const forward = (x: Tensor): Tensor => tfjsForward(tf, model, params, x);
  return {
    async run() {
      const start = performance.now();
      const loss = await tfjsTrainStep(tf, backend.device, adam, varList, forward, batch);
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

/** A peer timed on its own: `warmup` untimed samples, then `reps` timed ones. */
async function timeAlone(ctx: BenchContext, open: () => Promise<TfjsPeer>): Promise<TfjsTiming> {
  const peer = await open();
  try {
    return { ...peer.timing(await samples(ctx, () => peer.run())), inTurns: false };
  } finally {
    peer.dispose();
  }
}

/**
 * tfjs's side of a row that is timed in turns with it, or undefined if the page skips tfjs or tfjs
 * cannot be set up (logged; the comparison after the suites tries again and reports the error).
 */
export async function tfjsPeer(
  ctx: BenchContext,
  open: () => Promise<TfjsPeer>,
): Promise<TfjsPeer | undefined> {
  if (!ctx.options.tfjs) return undefined;
  try {
    return await open();
  } catch (e) {
    ctx.log(`tfjs not set up: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/**
 * `reps` samples of `ours` after `warmup` untimed ones, with `peer` (if any) warmed up as well and
 * then run in turns, one sample each, so both sides see the same machine; disposes the peer.
 */
export async function samplesInTurns(
  ctx: BenchContext,
  ours: () => Promise<number>,
  peer: TfjsPeer | undefined,
): Promise<{ ours: number[]; peer?: TfjsTiming }> {
  const { warmup, reps } = ctx.options;
  try {
    for (let i = 0; i < warmup; i++) await ours();
    for (let i = 0; i < warmup && peer; i++) await peer.run();
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < reps; i++) {
      mine.push(await ours());
      if (peer) theirs.push(await peer.run());
    }
    return peer ? { ours: mine, peer: { ...peer.timing(theirs), inTurns: true } } : { ours: mine };
  } finally {
    peer?.dispose();
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
}

/**
 * tfjs's timings of the matmul sizes and the training step the page ran (`rows`, shadergrad's):
 * those the suites took in turns with shadergrad's rows, the others timed now.
 */
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
  const timedInTurns = (suite: BenchRow['suite'], shape: string): TfjsTiming | undefined =>
    rows.find((r) => r.suite === suite && r.shape === shape && r.tfjs)?.tfjs;
  const matmul: TfjsTiming[] = [];
  if (rows.some((r) => r.suite === 'matmul'))
    for (const n of ctx.options.sizes)
      matmul.push(
        timedInTurns('matmul', `${n}x${n}x${n}`) ??
          (await timeAlone(ctx, () => openTfjsMatmul(ctx, n))),
      );
  const step = train
    ? [
        timedInTurns('train', train.shape) ??
          (await timeAlone(ctx, () => openTfjsTrainStep(ctx, train.config, train.shape))),
      ]
    : [];
  const inTurns = [...matmul, ...step].every((t) => t.inTurns);
  const info = backend.device.adapterInfo;
  return {
    version: tf.version.tfjs,
    backend: tf.getBackend(),
    adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '),
    method:
      `wall clock; matmul: ${MATMUL_WALL_REPEAT} tf.matMul then await a 1-element read-back; ` +
      'train: minimize + loss read-back; ' +
      (inTurns
        ? "each sample in turn with one of shadergrad's"
        : "timed after shadergrad's where a timing's inTurns is false"),
    matmul,
    train: step,
    ratios: ratios(rows, [...matmul, ...step]),
  };
}
