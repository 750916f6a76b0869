/**
 * Training benchmark (Node): samples/s of a model (softmax cross-entropy, Adam 1e-3, batch 64) on
 * real MNIST, or tokens/s of the character GPT on a text, for shadergrad and, in this same process
 * and on the same WebGPU adapter, TensorFlow.js (tfjs-backend-webgpu) and jax-js (WebGPU, under
 * jit). The frameworks take the adapter in turns, never at once: each sets up and warms up in its
 * first turn, then times one block of steps per turn, round after round (`--rounds`, default 5;
 * bench/turns.ts), so all are timed over the same minutes of a machine whose speed may drift.
 * The model:
 *   --model cnn (default): the reference CNN (conv 5x5x32 same ReLU, max-pool 2, conv 5x5x64
 *     same ReLU, max-pool 2, dense 1024 ReLU, dense 10);
 *   --model resnet: the ResNet preset (src/models/resnet.ts: conv3x3-bn-relu, 3 stages of basic
 *     blocks with batch norm and skips, global average pool, dense 10), `--width` channels in the
 *     first stage (default 16), `--blocks` basic blocks per stage (default 1);
 *   --model vit: the ViT preset (src/models/vit.ts: 7x7 patches, 4 pre-norm blocks of 4 heads,
 *     mean over tokens, dense 10), `--width` token width (default 64), `--blocks` (default 4);
 *     tfjs has no peer for it yet (its model builder refuses the transformer layers);
 *   --model gpt: the character GPT (src/models/gpt.ts, GPT_DEFAULTS: context 64, width 64, 2
 *     causal blocks of 4 heads, MLP 4·width) on texts/genesis.txt, batch 32 windows, against
 *     jax-js only (tfjs: no GPT peer); `--context`, `--width`, `--heads`, `--blocks` (layers).
 *     Also reports tokens/s = samples/s × context. See bench/gptBench.ts.
 * Every framework trains on the same batches (or windows) in the same seeded order. Prints a
 * table, then one JSON line (the last line of stdout); progress goes to stderr.
 *
 *   npm run bench:train [-- --model cnn|resnet|vit|gpt --width 16 --blocks 1 --context 64
 *                          --heads 4 --steps 20 --warmup 3 --rounds 5 --batch 64
 *                          --only shadergrad,tfjs,jaxjs --precision f32|f16]
 *
 * `--rounds 1` times each framework's steps in one block, one framework after the other.
 *
 * `--batch 16,64,256,1024` runs every framework at each batch size in turn (one table each, then
 * a summary: samples/s, or the GPT's tokens/s, and shadergrad's planned GPU bytes per batch); the JSON line then holds
 * one report per batch under `batches`.
 *
 * shadergrad's step: point the plan's two gather uniforms at the batch (queue.writeBuffer),
 * StepPlan.submit() (one command buffer), then await queue.onSubmittedWorkDone() — per step, as
 * the peers wait for theirs. Submits, buffers and bind groups created during the timed steps are
 * counted by wrapping the device (for the peers too, on their own devices). Timing and samples/s:
 * see bench/peers/common.ts. Ratios are shadergrad's samples/s over the peer's (> 1: faster),
 * from the medians over all timed steps, and per round from each round's medians; for the GPT they
 * are the tokens/s ratios too (both frameworks read the same context).
 */
import { initDevice } from '../src/gpu/device';
import { readFloat32, writeTensor } from '../src/gpu/buffers';
import { rewriteGather, seededPermutation } from '../src/train/trainer';
import { defaultTrainConfig, layerParamCounts, type TrainConfig } from '../src/models/config';
import { datasetToGpu } from '../src/models/fit';
import { createTrainer } from '../src/models/network';
import { cliTune } from '../src/cli/tune';
import { tuningLines, type TuneMode } from '../src/graph/tuneReport';
import { loadMnist } from '../src/data/datasetsNode';
import { printTable, progress, type Row } from './report';
import {
  batchOffset,
  describeDevice,
  errorMessage,
  measure,
  type BenchModel,
  type BenchOptions,
  type FrameworkResult,
  type FrameworkSlot,
  type MnistOrder,
} from './peers/common';
import { Turns, inTurns } from './turns';
import { benchTfjs } from './peers/tfjs';
import { benchJaxjs } from './peers/jaxjs';
import { gptSuite } from './gptBench';
import type { BenchSuite } from './suite';
import {
  UsageError,
  benchModel,
  benchOptions,
  parseFlags,
  type Flags,
  type Framework,
} from './trainFlags';
import { jsonReport, printReport, scalingRow, withTokens, type Slots } from './trainReport';

async function benchShadergrad(
  config: TrainConfig,
  order: MnistOrder,
  o: BenchOptions,
  tune: TuneMode,
): Promise<FrameworkResult> {
  const gpu = await initDevice({ log: progress });
  const trainer = createTrainer(gpu, config, { tune: cliTune(tune, progress) });
  const { height: rows, width: cols } = config.model.input;
  const data = datasetToGpu(gpu, { ...order, rows, cols });
  try {
    writeTensor(gpu, data.perm, order.perm);
    const plan = await trainer.plan('train', o.batch, data);
    if (plan.tuning) tuningLines(plan.tuning).forEach((line) => progress(line));
    let steps = 0;
    const timing = await measure(
      'shadergrad',
      {
        device: gpu.device,
        async step(index) {
          rewriteGather(gpu, plan, data, batchOffset(order.count, o.batch, index), o.batch);
          plan.submit();
          steps++;
          await gpu.device.queue.onSubmittedWorkDone();
        },
        async lossMean() {
          const [sum] = await readFloat32(gpu, trainer.lossSum);
          return (sum ?? NaN) / steps;
        },
        resetLoss() {
          trainer.resetMetrics();
          steps = 0;
        },
      },
      o,
    );
    return {
      ...timing,
      plannedBytes: plan.memory.total,
      backend: 'webgpu (shadergrad)',
      adapter: describeDevice(gpu.device),
      // Trainable ones, as the peers count theirs (batch norm's running statistics are not).
      parameters: layerParamCounts(config.model).reduce((a, b) => a + b, 0),
    };
  } finally {
    trainer.destroy();
    for (const t of [data.images, data.labels, data.perm]) t.buffer.destroy();
    gpu.destroy();
  }
}

/** The image models' suite: real MNIST in one seeded order, every framework. */
async function imageSuite(flags: Flags & { model: BenchModel['kind'] }): Promise<BenchSuite> {
  const model = benchModel(flags);
  // Only the model changes: the same Adam, batch size and seed for every model.
  const config: TrainConfig = {
    ...defaultTrainConfig(),
    model: model.config,
    precision: flags.precision,
  };
  const { train } = await loadMnist();
  const order: MnistOrder = {
    images: train.images,
    labels: train.labels,
    count: train.count,
    pixels: train.rows * train.cols,
    perm: seededPermutation(train.count, config.seed * 1000),
  };
  return {
    kind: model.kind,
    description:
      flags.precision === 'f16'
        ? `${model.description}; shadergrad's convolution inputs (im2col matrices or padded x) in f16`
        : model.description,
    dataset: 'MNIST',
    datasetDetail: 'MNIST train, seeded order, same batches for every framework',
    options: benchOptions(flags, config.batchSize),
    runners: {
      shadergrad: (o) => benchShadergrad({ ...config, batchSize: o.batch }, order, o, flags.tune),
      tfjs: (o) => benchTfjs(order, o, model),
      jaxjs: (o) => benchJaxjs(order, o, model),
    },
  };
}

/**
 * Every framework of `only`, set up together and timed in turns: each sets up and warms up in its
 * first turn, then runs one block of timed steps per turn (o.rounds of them), so all of them are
 * timed over the same minutes. One at a time, never concurrently.
 */
async function runAll(
  only: readonly Framework[],
  suite: BenchSuite,
  o: BenchOptions,
): Promise<Slots> {
  const turns = new Turns();
  const run = (name: Framework): Promise<FrameworkSlot> => {
    if (!only.includes(name)) return Promise.resolve({ skipped: 'not in --only' });
    return inTurns(turns, async (turn) => {
      progress(`-- ${name}`);
      try {
        return withTokens(await suite.runners[name]({ ...o, turn }), suite.tokensPerSample);
      } catch (e) {
        progress(`${name} failed: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
        return { error: errorMessage(e) };
      }
    });
  };
  // Turns are taken in this order, round after round.
  const [shadergrad, tfjs, jaxjs] = await Promise.all([
    run('shadergrad'),
    run('tfjs'),
    run('jaxjs'),
  ]);
  return { shadergrad, tfjs, jaxjs };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const suite =
    flags.model === 'gpt'
      ? await gptSuite(flags)
      : await imageSuite({ ...flags, model: flags.model });
  const reports: object[] = [];
  const scaling: Row[] = [];
  for (const batch of flags.batches ?? [suite.options.batch]) {
    const o = { ...suite.options, batch };
    const slots = await runAll(flags.only, suite, o);
    printReport(slots, suite, o);
    reports.push(jsonReport(slots, suite, o));
    scaling.push(scalingRow(batch, slots, suite));
  }
  if (reports.length > 1) printTable(`Batch scaling, ${suite.description}`, scaling);
  const json = reports.length === 1 ? reports[0] : { bench: 'train', batches: reports };
  // Exit explicitly once stdout is flushed: GPU instances can keep Node's event loop alive.
  process.stdout.write(`${JSON.stringify(json)}\n`, () => process.exit(0));
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(1);
});
