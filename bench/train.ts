/**
 * Training benchmark (Node): samples/s of the reference CNN (conv 5x5x32 same ReLU, max-pool 2,
 * conv 5x5x64 same ReLU, max-pool 2, dense 1024 ReLU, dense 10, softmax cross-entropy, Adam 1e-3,
 * batch 64) on real MNIST, for shadergrad and, one after another in this same process and on the
 * same WebGPU adapter, TensorFlow.js (tfjs-backend-webgpu) and jax-js (WebGPU, under jit).
 * Every framework trains on the same batches in the same seeded order. Prints a table, then one
 * JSON line (the last line of stdout); progress goes to stderr.
 *
 *   npm run bench:train [-- --steps 20 --warmup 3 --only shadergrad,tfjs,jaxjs]
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
import { defaultTrainConfig, type TrainConfig } from '../src/models/config';
import { datasetToGpu } from '../src/models/fit';
import { createTrainer, parameterShapes } from '../src/models/network';
import { loadMnist } from '../src/data/datasetsNode';
import { printTable, progress, type Row } from './report';
import {
  batchOffset,
  describeDevice,
  errorMessage,
  measure,
  type BenchOptions,
  type FrameworkResult,
  type FrameworkSlot,
  type MnistOrder,
} from './peers/common';
import { benchTfjs } from './peers/tfjs';
import { benchJaxjs } from './peers/jaxjs';

const FRAMEWORKS = ['shadergrad', 'tfjs', 'jaxjs'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Slots = Record<Framework, FrameworkSlot>;
const USAGE =
  'usage: npm run bench:train -- [--steps N] [--warmup N] [--only shadergrad,tfjs,jaxjs]';

/** A bad command line: printed without a stack trace. */
class UsageError extends Error {}

function parseFlags(argv: readonly string[]): { steps: number; warmup: number; only: Framework[] } {
  const flags = { steps: 20, warmup: 3, only: [...FRAMEWORKS] as Framework[] };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new UsageError(`${flag}: missing value\n${USAGE}`);
    if (flag === '--steps' || flag === '--warmup') {
      const n = Number(value);
      const least = flag === '--steps' ? 1 : 0;
      if (!Number.isInteger(n) || n < least)
        throw new UsageError(`${flag} ${value}: expected an integer >= ${least}`);
      flags[flag === '--steps' ? 'steps' : 'warmup'] = n;
    } else if (flag === '--only') {
      const names = value.split(',').filter((s) => s !== '');
      const unknown = names.filter((s) => !(FRAMEWORKS as readonly string[]).includes(s));
      if (names.length === 0 || unknown.length > 0)
        throw new UsageError(`--only ${value}: expected a list of ${FRAMEWORKS.join(', ')}`);
      flags.only = names as Framework[];
    } else throw new UsageError(`unknown flag ${flag}\n${USAGE}`);
  }
  return flags;
}

/** Points the plan's gather prelude at the batch starting at `offset` (uniform writes only). */

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
    const shapes = [...parameterShapes(config.model).values()];
    return {
      ...timing,
      backend: 'webgpu (shadergrad)',
      adapter: describeDevice(gpu.device),
      parameters: shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0),
    };
  } finally {
    trainer.destroy();
    for (const t of [data.images, data.labels, data.perm]) t.buffer.destroy();
    gpu.destroy();
  }
}

type Runner = (order: MnistOrder, o: BenchOptions) => Promise<FrameworkResult>;

async function runAll(
  only: readonly Framework[],
  config: TrainConfig,
  order: MnistOrder,
  o: BenchOptions,
): Promise<Slots> {
  const runners: Record<Framework, Runner> = {
    shadergrad: (d, opts) => benchShadergrad(config, d, opts),
    tfjs: benchTfjs,
    jaxjs: benchJaxjs,
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
  if (!ok(s)) return { framework: name, backend: 'error' in s ? `error: ${s.error}` : 'skipped' };
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

function printReport(slots: Slots, o: BenchOptions): void {
  printTable(
    `Training throughput, reference CNN, MNIST, batch ${o.batch}, Adam ${o.lr} ` +
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

function jsonReport(slots: Slots, o: BenchOptions): object {
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
    model: 'reference CNN (conv5x5x32-pool-conv5x5x64-pool-fc1024-fc10), softmax cross-entropy',
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
  const config = defaultTrainConfig();
  const opt = resolveOptimizerConfig(config.optimizer);
  const o: BenchOptions = {
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
  const slots = await runAll(flags.only, config, order, o);
  printReport(slots, o);
  const json = jsonReport(slots, o);
  // Exit explicitly once stdout is flushed: GPU instances can keep Node's event loop alive.
  process.stdout.write(`${JSON.stringify(json)}\n`, () => process.exit(0));
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(1);
});
