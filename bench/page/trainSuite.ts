/**
 * Softmax cross-entropy, the Adam update, and a full training step of the reference CNN.
 *   softmax-CE: GB/s of logits + labels read, dLogits + losses written (4 bytes each).
 *   Adam:       GB/s of grad, param, m, v read and param, m, v written: 28 bytes per parameter.
 *   train step: samples/s = batch / step time; once through Trainer.trainStep (upload, one
 *               submit, loss read-back: what the demo does, wall clock) and once as the step's
 *               dispatches alone (timeCalls: timestamp queries when available).
 */
import {
  cnnFromKnobs,
  createTensor,
  createTrainer,
  defaultTrainConfig,
  median,
  readFloat32,
  runCalls,
  uploadTensor,
  type ModelConfig,
  type TrainConfig,
} from '../../src/index';
import { optimizerStepBegin, optimizerUpdate } from '../../src/kernels/optimizer';
import { optimizerStepBeginCpu, optimizerUpdateCpu } from '../../src/kernels/optimizer.cpu';
import { softmaxCrossEntropyForwardBackward } from '../../src/kernels/softmaxCrossEntropy';
import { softmaxCrossEntropyForwardBackwardCpu } from '../../src/kernels/softmaxCrossEntropy.cpu';
import { randomFloats, row, validate, worst, type BenchContext, type BenchRow } from './common';
import { cpuForward, meanCrossEntropy, softmaxRows } from './cpuModel';

function randomLabels(n: number, classes: number, seed: number): Int32Array {
  return Int32Array.from(randomFloats(n, seed), (v) => Math.floor(((v + 1) / 2) * classes));
}

export async function benchSoftmax(ctx: BenchContext): Promise<BenchRow[]> {
  const K = 10;
  const tensors = (N: number, seed: number) => ({
    logits: uploadTensor(
      ctx.gpu,
      randomFloats(N * K, seed).map((v) => 8 * v),
      [N, K],
    ),
    labels: uploadTensor(ctx.gpu, randomLabels(N, K, seed + 1), [N], { dtype: 'i32' }),
    dLogits: createTensor(ctx.gpu, [N, K]),
    loss: createTensor(ctx.gpu, [N]),
  });
  const N0 = 13;
  const v = tensors(N0, 61);
  await runCalls(ctx.gpu, [softmaxCrossEntropyForwardBackward({ ...v, N: N0, K })]);
  const want = { dLogits: new Float64Array(N0 * K), loss: new Float64Array(N0) };
  const logits = await readFloat32(ctx.gpu, v.logits);
  const labels = randomLabels(N0, K, 62);
  softmaxCrossEntropyForwardBackwardCpu({ logits, labels, ...want, N: N0, K });
  // exp and log in float32 on logits up to ±8: a few ulps of results of order 1.
  const validation = worst(
    validate('softmaxCE loss', `${N0}x${K}`, await readFloat32(ctx.gpu, v.loss), want.loss, 1e-5),
    validate(
      'softmaxCE dLogits',
      `${N0}x${K}`,
      await readFloat32(ctx.gpu, v.dLogits),
      want.dLogits,
      1e-6,
    ),
  );
  Object.values(v).forEach((t) => t.buffer.destroy());
  const N = ctx.options.batch;
  const t = tensors(N, 63);
  ctx.log(`softmax cross-entropy [${N}, ${K}]`);
  // 20 copies per sample: one call is far shorter than a submit.
  const time = await ctx.time([softmaxCrossEntropyForwardBackward({ ...t, N, K })], 20);
  Object.values(t).forEach((x) => x.buffer.destroy());
  const base = {
    suite: 'softmax',
    kernel: 'softmaxCrossEntropyForwardBackward',
    shape: `[${N}, ${K}]`,
  } as const;
  return [row({ ...base, unit: 'GB/s', validation }, time, 4 * (2 * N * K + 2 * N))];
}

/** The reference CNN's parameter count (conv1 832, conv2 51,264, fc1 3,212,288, fc2 10,250). */
const REFERENCE_PARAMETERS = 3_274_634;

export async function benchAdam(ctx: BenchContext): Promise<BenchRow[]> {
  const config = { kind: 'adam', lr: 1e-3 } as const;
  const tensors = (n: number, seed: number) => ({
    grad: uploadTensor(ctx.gpu, randomFloats(n, seed), [n]),
    param: uploadTensor(ctx.gpu, randomFloats(n, seed + 1), [n]),
    m: createTensor(ctx.gpu, [n]),
    v: createTensor(ctx.gpu, [n]),
    step: createTensor(ctx.gpu, [1], { dtype: 'u32' }),
  });
  const calls = (t: ReturnType<typeof tensors>) => [
    optimizerStepBegin({ step: t.step }),
    optimizerUpdate({ ...t, state: [t.m, t.v], config }),
  ];
  const n0 = 1000;
  const c = tensors(n0, 71);
  const host = { grad: randomFloats(n0, 71), param: randomFloats(n0, 72), step: [0] };
  const state = [new Float32Array(n0), new Float32Array(n0)];
  for (let s = 0; s < 3; s++) {
    await runCalls(ctx.gpu, calls(c));
    optimizerStepBeginCpu(host);
    optimizerUpdateCpu({ ...host, state, config });
  }
  // Three updates of size ~lr on values ~1: float32 rounding of a few ulps (1.2e-7 each).
  const validation = validate(
    'adam',
    `${n0} x 3 steps`,
    await readFloat32(ctx.gpu, c.param),
    host.param,
    1e-6,
  );
  Object.values(c).forEach((t) => t.buffer.destroy());
  const n = ctx.options.quick ? 100_000 : REFERENCE_PARAMETERS;
  const t = tensors(n, 73);
  ctx.log(`Adam over ${n} parameters`);
  const time = await ctx.time(calls(t));
  Object.values(t).forEach((x) => x.buffer.destroy());
  const base = { suite: 'adam', kernel: 'optimizerStepBegin + adamUpdate', shape: `${n}` } as const;
  return [row({ ...base, unit: 'GB/s', validation }, time, 28 * n)];
}

/** The timed model: the reference CNN, or a small one for ?quick=1. */
export function trainConfig(ctx: BenchContext, batch: number): TrainConfig {
  const model: ModelConfig = ctx.options.quick
    ? cnnFromKnobs({ features: [4, 8], dense: 32 })
    : defaultTrainConfig().model;
  return { ...defaultTrainConfig(), model, batchSize: batch };
}

function syntheticBatch(N: number, seed: number) {
  const images = randomFloats(N * 784, seed).map((v) => (v + 1) / 2);
  return { images, labels: randomLabels(N, 10, seed + 1) };
}

/** Probabilities and the first step's loss of a batch of 2 against the model run on twins. */
async function validateStep(ctx: BenchContext) {
  const config = trainConfig(ctx, 2);
  const trainer = createTrainer(ctx.gpu, config);
  const { images, labels } = syntheticBatch(2, 81);
  const params = new Map<string, Float32Array>();
  for (const name of trainer.store.params.keys()) params.set(name, await trainer.store.read(name));
  const logits = cpuForward(config.model, params, images, 2);
  const probs = await trainer.predict(images, 2);
  const loss = await trainer.trainStep(images, labels);
  trainer.destroy();
  // Sums of up to 3136 float32 products before a softmax: 1e-4 absolute on values in [0, 1].
  return worst(
    validate('model probabilities', 'batch 2', probs, softmaxRows(logits, 10), 1e-4),
    validate('training-step loss', 'batch 2', [loss], [meanCrossEntropy(logits, labels, 10)], 1e-4),
  );
}

/** The training-step rows' shape label (also the tfjs row's, to pair them). */
export function trainShape(ctx: BenchContext): string {
  return `batch ${ctx.options.batch}, ${ctx.options.quick ? 'small CNN 4,8 / 32' : 'reference CNN'}`;
}

export async function benchTrainStep(ctx: BenchContext): Promise<BenchRow[]> {
  const validation = await validateStep(ctx);
  const B = ctx.options.batch;
  const config = trainConfig(ctx, B);
  const trainer = createTrainer(ctx.gpu, config);
  const { images, labels } = syntheticBatch(B, 91);
  const shape = trainShape(ctx);
  ctx.log(`training step, ${shape}`);
  for (let i = 0; i < ctx.options.warmup; i++) await trainer.trainStep(images, labels);
  const samplesMs: number[] = [];
  for (let i = 0; i < ctx.options.reps; i++) {
    const start = performance.now();
    await trainer.trainStep(images, labels);
    samplesMs.push(performance.now() - start);
  }
  const wall = {
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    samplesMs,
    source: 'wall-clock' as const,
  };
  const plan = await trainer.plan('train', B);
  const gpuOnly = await ctx.time(plan.prepared.map((p) => p.call));
  trainer.destroy();
  const base = { suite: 'train', shape, unit: 'samples/s', validation } as const;
  return [
    row({ ...base, kernel: 'Trainer.trainStep (upload + step + read-back)' }, wall, B),
    row({ ...base, kernel: `training step dispatches (${plan.prepared.length})` }, gpuOnly, B),
  ];
}
