/**
 * Softmax cross-entropy, the Adam update, and a full training step of the reference CNN. Cases
 * and byte formulas: bench/cases/losses.ts; the step is validated against the graph's CPU
 * reference (src/graph/cpuReference.ts).
 *   train step: samples/s = batch / step time; once through Trainer.trainStep (upload, one
 *               submit, loss read-back: what the demo does, wall clock) and once as the step's
 *               dispatches alone (timeCalls: timestamp queries when available). The step is
 *               autotuned (`cached`: the choices this browser kept, else timed now and kept)
 *               with no time budget, so the page times the engine as a returning visitor's
 *               cache would run it, even on a first visit; the log lists each product's choice
 *               and how long tuning took. With tfjs on (the default), tfjs's step on the
 *               same model (tfjsSuite.ts) is warmed up too and then timed in turns with
 *               Trainer.trainStep, one step each, never at once.
 */
import {
  buildGraph,
  cnnFromKnobs,
  createTrainer,
  defaultTrainConfig,
  referenceForward,
  tuningLines,
  type ModelConfig,
  type TrainConfig,
} from '../../src/index';
import {
  randomFloats,
  randomInts,
  softmaxCrossEntropyForwardCpu,
  type FloatArray,
} from '../../src/kernelApi';
import {
  compare,
  optimizerBytes,
  optimizerCase,
  REFERENCE_PARAMETERS,
  softmaxBytes,
  softmaxCase,
  timeCase,
  validateCase,
  validation,
  type Validation,
} from '../cases';
import { row, wallClock, type BenchContext, type BenchRow } from './common';
import { openTfjsTrainStep, samplesInTurns, tfjsPeer } from './tfjsSuite';

export async function benchSoftmax(ctx: BenchContext): Promise<BenchRow[]> {
  const K = 10;
  const small = softmaxCase(ctx.gpu, { N: 13, K }, 'forwardBackward');
  const validation = await validateCase(ctx.gpu, 'softmaxCE', small);
  const N = ctx.options.batch;
  const timed = softmaxCase(ctx.gpu, { N, K }, 'forwardBackward', 63);
  ctx.log(`softmax cross-entropy [${N}, ${K}]`);
  // 20 copies per sample: one call is far shorter than a submit.
  const time = await timeCase(ctx.gpu, timed, (calls) => ctx.time(calls, 20));
  timed.destroy();
  const base = {
    suite: 'softmax',
    kernel: 'softmaxCrossEntropyForwardBackward',
    shape: `[${N}, ${K}]`,
  } as const;
  return [row({ ...base, unit: 'GB/s', validation }, time, softmaxBytes(N, K, 'forwardBackward'))];
}

export async function benchAdam(ctx: BenchContext): Promise<BenchRow[]> {
  const config = { kind: 'adam', lr: 1e-3 } as const;
  const validation = await validateCase(ctx.gpu, 'adam', optimizerCase(ctx.gpu, config, 1000, 3));
  const n = ctx.options.quick ? 100_000 : REFERENCE_PARAMETERS;
  const timed = optimizerCase(ctx.gpu, config, n, 1, 73);
  ctx.log(`Adam over ${n} parameters`);
  const time = await timeCase(ctx.gpu, timed, (calls) => ctx.time(calls));
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
  return { images: randomFloats(N * 784, seed, 0, 1), labels: randomInts(N, seed + 1, 10) };
}

/** Softmax of logits [N, K] through the loss twin: p[n, k] = exp(-CE(logits[n], label k)). */
function probabilities(logits: FloatArray, N: number, K: number): Float64Array {
  const [p, loss] = [new Float64Array(N * K), new Float64Array(N)];
  for (let k = 0; k < K; k++) {
    softmaxCrossEntropyForwardCpu({ logits, labels: new Int32Array(N).fill(k), loss, N, K });
    loss.forEach((l, n) => (p[n * K + k] = Math.exp(-l)));
  }
  return p;
}

/**
 * Probabilities and the first step's loss of a batch of 2 against the graph's CPU reference
 * (float64) with the same parameters: probabilities in evaluation mode, as Trainer.predict; the
 * loss in training mode at step 0, as the first Trainer.trainStep (dropout masks included).
 */
async function validateStep(ctx: BenchContext): Promise<Validation> {
  const config = trainConfig(ctx, 2);
  const trainer = createTrainer(ctx.gpu, config);
  const inputs = syntheticBatch(2, 81);
  const params = new Map<string, Float32Array>();
  for (const name of trainer.store.params.keys()) params.set(name, await trainer.store.read(name));
  const probs = await trainer.predict(inputs.images, 2);
  const loss = await trainer.trainStep(inputs.images, inputs.labels);
  trainer.destroy();
  const graph = buildGraph(config.model, 2);
  const logitsNode = graph.lossNode().inputs[0] ?? -1;
  const evaluation = referenceForward(graph, params, inputs, 'f64');
  const logits = evaluation.values.get(logitsNode);
  if (!logits) throw new Error('validateStep: the reference has no logits');
  const training = referenceForward(graph, params, inputs, 'f64', 0);
  const K = config.model.classes;
  // Sums of up to 3136 float32 products before a softmax: 1e-4 absolute on values in [0, 1].
  const tolerance = { atol: 1e-4, rtol: 1e-5 };
  const want = probabilities(logits, 2, K);
  return validation('training step', 'batch 2', [
    compare({ output: 'model probabilities', got: probs, want, ...tolerance }),
    compare({ output: 'loss', got: [loss], want: [training.loss], ...tolerance }),
  ]);
}

/** The training-step rows' shape label (also the tfjs row's, to pair them). */
export function trainShape(ctx: BenchContext): string {
  return `batch ${ctx.options.batch}, ${ctx.options.quick ? 'small CNN 4,8 / 32' : 'reference CNN'}`;
}

export async function benchTrainStep(ctx: BenchContext): Promise<BenchRow[]> {
  const validation = await validateStep(ctx);
  const B = ctx.options.batch;
  const config = trainConfig(ctx, B);
  const trainer = createTrainer(ctx.gpu, config, {
    tune: { mode: 'cached', budgetMs: Number.POSITIVE_INFINITY, log: (line) => ctx.log(line) },
  });
  const { images, labels } = syntheticBatch(B, 91);
  const shape = trainShape(ctx);
  const report = (await trainer.plan('train', B)).tuning;
  const tuning = report ? tuningLines(report) : [];
  tuning.forEach((line) => ctx.log(line));
  const peer = await tfjsPeer(ctx, () => openTfjsTrainStep(ctx, config, shape));
  ctx.log(`training step, ${shape}${peer ? ", in turns with tfjs's" : ''}`);
  const step = async (): Promise<number> => {
    const start = performance.now();
    await trainer.trainStep(images, labels);
    return performance.now() - start;
  };
  const times = await samplesInTurns(ctx, step, peer);
  const wall = wallClock(times.ours);
  const plan = await trainer.plan('train', B);
  const gpuOnly = await ctx.time(plan.prepared.map((p) => p.call));
  trainer.destroy();
  const base = { suite: 'train', shape, unit: 'samples/s', validation } as const;
  const stepRow = row(
    { ...base, kernel: 'Trainer.trainStep (upload + step + read-back)' },
    wall,
    B,
  );
  return [
    times.peer ? { ...stepRow, tfjs: times.peer } : stepRow,
    row({ ...base, kernel: `training step dispatches (${plan.prepared.length})` }, gpuOnly, B),
  ].map((r) => ({ ...r, tuning }));
}
