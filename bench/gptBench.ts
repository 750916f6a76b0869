/**
 * bench:train --model gpt: the character GPT of src/models/gpt.ts on texts/genesis.txt (the whole
 * text, encoded with CharVocabulary), shadergrad's CharGpt against the same network in jax-js
 * (./peers/jaxjsGpt.ts); tfjs has no GPT peer. Both train with the bench's Adam on the same
 * windows in the same order: randomWindows(ids, batch, context, mulberry32(seed)) drawn once per
 * batch size, before any framework starts its clock, step i reading window list entry i.
 *
 * shadergrad's step: CharGpt.trainStep(windows, false) (two writeBuffers and one submit; no loss
 * read), then await queue.onSubmittedWorkDone(), as the image models' step and the peers wait.
 * Its loss column is the mean of LOSS_STEPS further steps after the timed ones, each loss read
 * back (reading every timed step's loss would add a copy and a map to each timed step).
 */
import { cliTune } from '../src/cli/tune';
import { tuningLines, type TuneMode } from '../src/graph/tuneReport';
import { readFile } from 'node:fs/promises';
import { mulberry32 } from '../src/base/random';
import { CharVocabulary, randomWindows } from '../src/data/text';
import { initDevice, type Gpu } from '../src/gpu/device';
import { CharGpt } from '../src/models/gpt';
import {
  describeDevice,
  measure,
  windowAt,
  type BenchOptions,
  type FrameworkResult,
  type StepRunner,
  type TextWindow,
} from './peers/common';
import { benchJaxjsGpt, type GptSizes } from './peers/jaxjsGpt';
import { progress } from './report';
import type { BenchSuite } from './suite';
import { benchOptions, gptSizes, type Flags } from './trainFlags';

const TEXT = new URL('../texts/genesis.txt', import.meta.url);
/** Windows per step, as `shadergrad gpt` trains by default. */
const GPT_BATCH = 32;
/** Untimed steps after the timed ones whose losses shadergrad's loss column averages. */
const LOSS_STEPS = 3;

/** The windows of every step (warm-up, timed, loss) at `o.batch`, from the seed. */
function prepareWindows(ids: Uint32Array, context: number, o: BenchOptions): TextWindow[] {
  const random = mulberry32(o.seed);
  const count = o.warmup + o.steps + LOSS_STEPS;
  return Array.from({ length: count }, () => randomWindows(ids, o.batch, context, random));
}

function gptRunner(gpu: Gpu, gpt: CharGpt, windows: readonly TextWindow[], o: BenchOptions) {
  const runner: StepRunner = {
    device: gpu.device,
    async step(index) {
      await gpt.trainStep(windowAt(windows, index), false);
      await gpu.device.queue.onSubmittedWorkDone();
    },
    async lossMean() {
      let sum = 0;
      for (let i = 0; i < LOSS_STEPS; i++)
        sum += await gpt.trainStep(windowAt(windows, o.warmup + o.steps + i), true);
      return sum / LOSS_STEPS;
    },
    resetLoss() {}, // nothing accumulates: the loss is read after the timed steps
  };
  return runner;
}

/** Trainable scalars of shadergrad's GPT, as the peer counts its own. */
function parameterCount(gpt: CharGpt): number {
  return gpt.store
    .trainableParams()
    .reduce((n, [, p]) => n + p.spec.shape.reduce((a, b) => a * b, 1), 0);
}

async function benchShadergradGpt(
  windows: readonly TextWindow[],
  o: BenchOptions,
  config: GptSizes,
  tune: TuneMode,
): Promise<FrameworkResult> {
  const gpu = await initDevice({ log: progress });
  try {
    const optimizer = {
      kind: 'adam' as const,
      lr: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
    };
    const gpt = await CharGpt.create(gpu, config, {
      batch: o.batch,
      optimizer,
      seed: o.seed,
      tune: cliTune(tune, progress),
    });
    if (gpt.tuning) tuningLines(gpt.tuning).forEach((line) => progress(line));
    try {
      const timing = await measure('shadergrad', gptRunner(gpu, gpt, windows, o), o);
      return {
        ...timing,
        plannedBytes: gpt.plannedBytes,
        backend: 'webgpu (shadergrad)',
        adapter: describeDevice(gpu.device),
        parameters: parameterCount(gpt),
      };
    } finally {
      gpt.destroy();
    }
  } finally {
    gpu.destroy();
  }
}

function describeGpt(c: GptSizes): string {
  return (
    `character GPT (vocabulary ${c.vocab}, context ${c.context}, width ${c.width}, ` +
    `${c.layers} causal pre-norm block(s) of ${c.heads} heads and a ${c.hidden}-unit GELU MLP, ` +
    'final layer norm, dense head), next-character cross-entropy at every position'
  );
}

/** The GPT's suite: sizes from the flags (checked before the text is read), Genesis as data. */
export async function gptSuite(flags: Flags): Promise<BenchSuite> {
  const sizes = gptSizes(flags);
  const text = await readFile(TEXT, 'utf8');
  const vocab = CharVocabulary.fromText(text);
  const ids = vocab.encode(text);
  const config: GptSizes = { vocab: vocab.size, ...sizes };
  // One list per batch size, shared by the frameworks, so each trains on the same windows.
  const prepared = new Map<number, TextWindow[]>();
  const windows = (o: BenchOptions): TextWindow[] => {
    const list = prepared.get(o.batch) ?? prepareWindows(ids, config.context, o);
    prepared.set(o.batch, list);
    return list;
  };
  return {
    kind: 'gpt',
    description: describeGpt(config),
    dataset: 'texts/genesis.txt',
    datasetDetail:
      `texts/genesis.txt (${ids.length} characters, vocabulary ${vocab.size}), seeded random ` +
      'windows, the same for every framework in the same order',
    tokensPerSample: config.context,
    options: benchOptions(flags, GPT_BATCH),
    runners: {
      shadergrad: (o) => benchShadergradGpt(windows(o), o, config, flags.tune),
      tfjs: () => Promise.resolve({ skipped: 'no GPT peer' }),
      jaxjs: (o) => benchJaxjsGpt(windows(o), o, config),
    },
  };
}
