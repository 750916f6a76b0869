/**
 * Training benchmark (Node): samples/s of a model (softmax cross-entropy, Adam 1e-3, batch 64) on
 * real MNIST, for shadergrad and, one after another in this same process and on the same WebGPU
 * adapter, TensorFlow.js (tfjs-backend-webgpu) and jax-js (WebGPU, under jit). The model:
 *   --model cnn (default): the reference CNN (conv 5x5x32 same ReLU, max-pool 2, conv 5x5x64
 *     same ReLU, max-pool 2, dense 1024 ReLU, dense 10);
 *   --model resnet: the ResNet preset (src/models/resnet.ts: conv3x3-bn-relu, 3 stages of basic
 *     blocks with batch norm and skips, global average pool, dense 10), `--width` channels in the
 *     first stage (default 16), `--blocks` basic blocks per stage (default 1);
 *   --model vit: the ViT preset (src/models/vit.ts: 7x7 patches, 4 pre-norm blocks of 4 heads,
 *     mean over tokens, dense 10), `--width` token width (default 64), `--blocks` (default 4);
 *     tfjs has no peer for it yet (its model builder refuses the transformer layers).
 * Every framework trains on the same batches in the same seeded order. Prints a table, then one
 * JSON line (the last line of stdout); progress goes to stderr.
 *
 *   npm run bench:train [-- --model cnn|resnet|vit --width 16 --blocks 1 --steps 20 --warmup 3
 *                          --batch 64 --only shadergrad,tfjs,jaxjs]
 *
 * `--batch 16,64,256,1024` runs every framework at each batch size in turn (one table each, then
 * a summary: samples/s and shadergrad's planned GPU bytes per batch); the JSON line then holds
 * one report per batch under `batches`.
 *
 * shadergrad's step: point the plan's two gather uniforms at the batch (queue.writeBuffer),
 * StepPlan.submit() (one command buffer), then await queue.onSubmittedWorkDone() — per step, as
 * the peers wait for theirs. Submits, buffers and bind groups created during the timed steps are
 * counted by wrapping the device (for the peers too, on their own devices). Timing and samples/s:
 * see bench/peers/common.ts. Ratios are shadergrad's samples/s over the peer's (> 1: faster).
 */
import { initDevice } from '../src/gpu/device';
import { readFloat32, writeTensor } from '../src/gpu/buffers';
import { rewriteGather, seededPermutation } from '../src/train/trainer';
import { resolveOptimizerConfig } from '../src/kernels/index';
import { defaultTrainConfig, layerParamCounts, type TrainConfig } from '../src/models/config';
import { datasetToGpu } from '../src/models/fit';
import { createTrainer } from '../src/models/network';
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
import { benchTfjs } from './peers/tfjs';
import { benchJaxjs } from './peers/jaxjs';
import { FRAMEWORKS, UsageError, benchModel, parseFlags, type Framework } from './trainFlags';

type Slots = Record<Framework, FrameworkSlot>;

async function benchShadergrad(
  config: TrainConfig,
  order: MnistOrder,
  o: BenchOptions,
): Promise<FrameworkResult> {
  const gpu = await initDevice({ log: progress });
  const trainer = createTrainer(gpu, config);
  const { height: rows, width: cols } = config.model.input;
  const data = datasetToGpu(gpu, { ...order, rows, cols });
  try {
    writeTensor(gpu, data.perm, order.perm);
    const plan = await trainer.plan('train', o.batch, data);
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

type Runner = (order: MnistOrder, o: BenchOptions) => Promise<FrameworkSlot>;

async function runAll(
  only: readonly Framework[],
  config: TrainConfig,
  model: BenchModel,
  order: MnistOrder,
  o: BenchOptions,
): Promise<Slots> {
  const runners: Record<Framework, Runner> = {
    shadergrad: (d, opts) => benchShadergrad(config, d, opts),
    tfjs: (d, opts) => benchTfjs(d, opts, model),
    jaxjs: (d, opts) => benchJaxjs(d, opts, model),
  };
  const slots = {} as Slots;
  for (const name of FRAMEWORKS) {
    if (!only.includes(name)) {
      slots[name] = { skipped: 'not in --only' };
      continue;
    }
    progress(`-- ${name}`);
    try {
      slots[name] = await runners[name](order, o); // one at a time, never concurrently
    } catch (e) {
      progress(`${name} failed: ${e instanceof Error && e.stack ? e.stack : errorMessage(e)}`);
      slots[name] = { error: errorMessage(e) };
    }
  }
  return slots;
}

const ok = (s: FrameworkSlot | undefined): s is FrameworkResult =>
  s !== undefined && 'samplesPerS' in s;

function tableRow(name: Framework, s: FrameworkSlot): Row {
  if (!ok(s))
    return {
      framework: name,
      backend: 'error' in s ? `error: ${s.error}` : `skipped: ${s.skipped}`,
    };
  return {
    framework: name,
    backend: s.backend,
    'samples/s': s.samplesPerS,
    'step ms (median)': s.stepMsMedian,
    'min ms': s.stepMsMin,
    'max ms': s.stepMsMax,
    loss: s.lossMean,
    'submits/step': s.submitsPerStep,
    'buffers/step': s.buffersPerStep,
    'bindGroups/step': s.bindGroupsPerStep,
  };
}

/** shadergrad's samples/s over each peer's (> 1: shadergrad is faster); null if one is missing. */
function ratios(slots: Slots): Record<'shadergrad/tfjs' | 'shadergrad/jaxjs', number | null> {
  const base = slots.shadergrad;
  const ratio = (peer: Framework): number | null => {
    const s = slots[peer];
    return ok(base) && ok(s) ? base.samplesPerS / s.samplesPerS : null;
  };
  return { 'shadergrad/tfjs': ratio('tfjs'), 'shadergrad/jaxjs': ratio('jaxjs') };
}

function printReport(slots: Slots, model: BenchModel, o: BenchOptions): void {
  printTable(
    `Training throughput, ${model.description}, MNIST, batch ${o.batch}, Adam ${o.lr} ` +
      `(median of ${o.steps} steps after ${o.warmup} warm-up; each step awaited)`,
    FRAMEWORKS.map((name) => tableRow(name, slots[name])),
  );
  const r = ratios(slots);
  const times = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)}x`);
  console.log(
    `\nsamples/s ratios: shadergrad/tfjs ${times(r['shadergrad/tfjs'])}, ` +
      `shadergrad/jaxjs ${times(r['shadergrad/jaxjs'])}`,
  );
  for (const name of FRAMEWORKS) {
    const s = slots[name];
    if (ok(s)) console.log(`${name}: ${s.backend} on ${s.adapter}, ${s.parameters} parameters`);
  }
}

function jsonReport(slots: Slots, model: BenchModel, o: BenchOptions): object {
  const done = FRAMEWORKS.map((n) => slots[n]).filter(ok);
  const adapters = [...new Set(done.map((s) => s.adapter))];
  const parameterCounts = [...new Set(done.map((s) => s.parameters))];
  if (adapters.length > 1)
    progress(`WARNING: frameworks ran on different adapters: ${adapters.join(' | ')}`);
  if (parameterCounts.length > 1)
    progress(`WARNING: parameter counts differ: ${parameterCounts.join(', ')}`);
  const base = slots.shadergrad;
  return {
    bench: 'train',
    model: model.description,
    modelKind: model.kind,
    dataset: 'MNIST train, seeded order, same batches for every framework',
    batch: o.batch,
    optimizer: { kind: 'adam', lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps },
    warmup: o.warmup,
    timing: 'per step: launch, then await GPU completion; median over timed steps',
    adapter: adapters.join(' | ') || 'none',
    sameAdapter: adapters.length === 1,
    sameParameterCount: parameterCounts.length <= 1,
    submitsPerStep: ok(base) ? base.submitsPerStep : null,
    buffersPerStep: ok(base) ? base.buffersPerStep : null,
    bindGroupsPerStep: ok(base) ? base.bindGroupsPerStep : null,
    ...slots,
    ratios: ratios(slots),
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const model = benchModel(flags);
  // Only the model changes: the same Adam, batch size and seed for every model.
  const config: TrainConfig = { ...defaultTrainConfig(), model: model.config };
  const opt = resolveOptimizerConfig(config.optimizer);
  const base: BenchOptions = {
    steps: flags.steps,
    warmup: flags.warmup,
    batch: config.batchSize,
    lr: opt.lr,
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    seed: config.seed,
  };
  const { train } = await loadMnist();
  const order: MnistOrder = {
    images: train.images,
    labels: train.labels,
    count: train.count,
    pixels: train.rows * train.cols,
    perm: seededPermutation(train.count, config.seed * 1000),
  };
  const reports: object[] = [];
  const scaling: Row[] = [];
  for (const batch of flags.batches ?? [base.batch]) {
    const o = { ...base, batch };
    const slots = await runAll(flags.only, { ...config, batchSize: batch }, model, order, o);
    printReport(slots, model, o);
    reports.push(jsonReport(slots, model, o));
    scaling.push(scalingRow(batch, slots));
  }
  if (reports.length > 1) printTable(`Batch scaling, ${model.description}`, scaling);
  const json = reports.length === 1 ? reports[0] : { bench: 'train', batches: reports };
  // Exit explicitly once stdout is flushed: GPU instances can keep Node's event loop alive.
  process.stdout.write(`${JSON.stringify(json)}\n`, () => process.exit(0));
}

/** One line of the batch-scaling summary: samples/s per framework, shadergrad's planned bytes. */
function scalingRow(batch: number, slots: Slots): Row {
  const samples = FRAMEWORKS.map((name) => {
    const s = slots[name];
    return [`${name} samples/s`, ok(s) ? s.samplesPerS : 'n/a'] as const;
  });
  const sg = slots.shadergrad;
  const planned = ok(sg) && sg.plannedBytes !== undefined ? sg.plannedBytes / 2 ** 20 : 'n/a';
  return { batch, ...Object.fromEntries(samples), 'shadergrad planned MiB': planned };
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(1);
});
