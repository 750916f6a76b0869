/**
 * Softmax cross-entropy, the Adam update, and a full training step of the reference CNN.
 *   softmax-CE: GB/s of logits + labels read, dLogits + losses written (4 bytes each).
 *   optimizers: GB/s of grad, param and state read and param and state written: 28 bytes per
 *               parameter for Adam (m, v), 20 for momentum and RMSprop, 12 for SGD.
 *   train step: samples/s = batch / step time; once through Trainer.trainStep (upload, one
 *               submit, loss read-back: what the demo does, wall clock) and once as the step's
 *               dispatches alone (timeCalls: timestamp queries when available).
 */
import {
  cnnFromKnobs,
  createTrainer,
  defaultTrainConfig,
  median,
  readFloat32,
  type Gpu,
  type ModelConfig,
  type TrainConfig,
} from '../../src/index';
import { optimizerStepBegin, optimizerUpdate } from '../../src/kernels/optimizer';
import {
  optimizerStateSlots,
  optimizerStepBeginCpu,
  optimizerUpdateCpu,
  type OptimizerConfig,
  type OptimizerKind,
} from '../../src/kernels/optimizer.cpu';
import {
  softmaxCrossEntropyForward,
  softmaxCrossEntropyForwardBackward,
} from '../../src/kernels/softmaxCrossEntropy';
import { softmaxCrossEntropyForwardBackwardCpu } from '../../src/kernels/softmaxCrossEntropy.cpu';
import {
  randomFloats,
  row,
  validate,
  worst,
  type BenchContext,
  type BenchRow,
  type TwinCheck,
} from './common';
import { makeCase, timeCase, validateCase, type KernelCase } from './kernelCase';
import { cpuForward, meanCrossEntropy, softmaxRows } from './cpuModel';

export function randomLabels(n: number, classes: number, seed: number): Int32Array {
  return Int32Array.from(randomFloats(n, seed), (v) => Math.floor(((v + 1) / 2) * classes));
}

/**
 * Softmax cross-entropy over N rows of K logits in [-8, 8): the forward (per-sample loss) or the
 * fused forward + backward of training, against the twins. exp and log in float32 (tests/kernels):
 * the loss is off by a few ulps per term of the row sum, 4·2^-23·(K + 16); dLogits by that / N.
 */
export function softmaxCase(
  gpu: Gpu,
  { N, K }: { N: number; K: number },
  entry: 'forward' | 'forwardBackward',
  seed = 61,
): KernelCase {
  return makeCase(gpu, (t) => {
    const host = {
      logits: randomFloats(N * K, seed).map((v) => 8 * v),
      labels: randomLabels(N, K, seed + 1),
    };
    const args = {
      logits: t.upload(host.logits, [N, K]),
      labels: t.upload(host.labels, [N]),
      dLogits: t.zeros([N, K]),
      loss: t.zeros([N]),
      N,
      K,
    };
    const lossAtol = 4 * 2 ** -23 * (K + 16);
    const check = async (): Promise<TwinCheck[]> => {
      const want = { dLogits: new Float64Array(N * K), loss: new Float64Array(N) };
      softmaxCrossEntropyForwardBackwardCpu({ ...host, ...want, N, K });
      const loss = await readFloat32(gpu, args.loss);
      const checks = [
        { output: 'loss', got: loss, want: want.loss, atol: lossAtol, rtol: 2 ** -21 },
      ];
      if (entry === 'forward') return checks;
      const dLogits = await readFloat32(gpu, args.dLogits);
      const atol = lossAtol / N;
      return [
        ...checks,
        { output: 'dLogits', got: dLogits, want: want.dLogits, atol, rtol: 2 ** -21 },
      ];
    };
    const call =
      entry === 'forward'
        ? softmaxCrossEntropyForward(args)
        : softmaxCrossEntropyForwardBackward(args);
    return { shape: `N=${N} K=${K}`, setup: [], calls: [call], check };
  });
}

/** Bytes moved at least: logits and labels read, losses (and dLogits) written, 4 bytes each. */
export function softmaxBytes(N: number, K: number, entry: 'forward' | 'forwardBackward'): number {
  return 4 * (N * K + 2 * N + (entry === 'forward' ? 0 : N * K));
}

export async function benchSoftmax(ctx: BenchContext): Promise<BenchRow[]> {
  const K = 10;
  const small = softmaxCase(ctx.gpu, { N: 13, K }, 'forwardBackward');
  const validation = await validateCase(ctx.gpu, 'softmaxCE', small);
  const N = ctx.options.batch;
  const timed = softmaxCase(ctx.gpu, { N, K }, 'forwardBackward', 63);
  ctx.log(`softmax cross-entropy [${N}, ${K}]`);
  // 20 copies per sample: one call is far shorter than a submit.
  const time = await timeCase(ctx, timed, 20);
  timed.destroy();
  const base = {
    suite: 'softmax',
    kernel: 'softmaxCrossEntropyForwardBackward',
    shape: `[${N}, ${K}]`,
  } as const;
  return [row({ ...base, unit: 'GB/s', validation }, time, softmaxBytes(N, K, 'forwardBackward'))];
}

/** The reference CNN's parameter count (conv1 832, conv2 51,264, fc1 3,212,288, fc2 10,250). */
const REFERENCE_PARAMETERS = 3_274_634;

/**
 * `steps` optimizer steps (step counter, then the update) on n parameters with a fixed random
 * gradient, against optimizerUpdateCpu on Float32Arrays (which round where the GPU does). Each
 * update moves a value ~1 by about lr: a few ulps (1.2e-7 each) per step on param and state.
 */
export function optimizerCase(
  gpu: Gpu,
  config: OptimizerConfig,
  n: number,
  steps = 1,
  seed = 71,
): KernelCase {
  return makeCase(gpu, (t) => {
    const host = {
      grad: randomFloats(n, seed),
      param: randomFloats(n, seed + 1),
      step: [0],
      state: Array.from({ length: optimizerStateSlots(config.kind) }, () => new Float32Array(n)),
    };
    const tensors = {
      grad: t.upload(host.grad, [n]),
      param: t.upload(host.param, [n]),
      state: host.state.map(() => t.zeros([n])),
      step: t.zeros([1], 'u32'),
    };
    const one = [optimizerStepBegin(tensors), optimizerUpdate({ ...tensors, config })];
    const check = async (): Promise<TwinCheck[]> => {
      for (let s = 0; s < steps; s++) {
        optimizerStepBeginCpu(host);
        optimizerUpdateCpu({ ...host, config });
      }
      const outputs = [tensors.param, ...tensors.state];
      const wants = [host.param, ...host.state];
      const got = await Promise.all(outputs.map((x) => readFloat32(gpu, x)));
      const atol = 1e-6 * steps;
      return wants.map((want, i) => ({
        output: i === 0 ? 'param' : `state ${i - 1}`,
        got: got[i] ?? new Float32Array(0),
        want,
        atol,
        rtol: 1e-5,
      }));
    };
    const calls = Array.from({ length: steps }, () => one).flat();
    return {
      shape: `${n} parameters x ${steps} step${steps === 1 ? '' : 's'}`,
      setup: [],
      calls,
      check,
    };
  });
}

/** Bytes one update moves: grad, param and state read, param and state written (Adam 28/param). */
export function optimizerBytes(kind: OptimizerKind, n: number): number {
  const slots = optimizerStateSlots(kind);
  return 4 * n * (3 + 2 * slots);
}

export async function benchAdam(ctx: BenchContext): Promise<BenchRow[]> {
  const config = { kind: 'adam', lr: 1e-3 } as const;
  const validation = await validateCase(ctx.gpu, 'adam', optimizerCase(ctx.gpu, config, 1000, 3));
  const n = ctx.options.quick ? 100_000 : REFERENCE_PARAMETERS;
  const timed = optimizerCase(ctx.gpu, config, n, 1, 73);
  ctx.log(`Adam over ${n} parameters`);
  const time = await timeCase(ctx, timed);
  timed.destroy();
  const base = { suite: 'adam', kernel: 'optimizerStepBegin + adamUpdate', shape: `${n}` } as const;
  return [row({ ...base, unit: 'GB/s', validation }, time, optimizerBytes('adam', n))];
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
