/**
 * bench:train's command line: which model, which frameworks, how many steps, which batch sizes;
 * and the options every framework shares. A bad flag is a UsageError, printed without a stack
 * trace.
 */
import { DEFAULT_TUNE } from '../src/cli/args';
import { TUNE_MODES, type TuneMode } from '../src/graph/tuneReport';
import { resolveOptimizerConfig } from '../src/kernels/index';
import { PRECISIONS, defaultTrainConfig, type Precision } from '../src/models/config';
import { GPT_DEFAULTS, type GptConfig } from '../src/models/gpt';
import { resnetModel, RESNET_DEFAULTS } from '../src/models/resnet';
import { vitModel, VIT_DEFAULTS } from '../src/models/vit';
import type { BenchModel, BenchOptions } from './peers/common';

export const FRAMEWORKS = ['shadergrad', 'tfjs', 'jaxjs'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
const MODELS = ['cnn', 'resnet', 'vit', 'gpt'] as const;
export type ModelKind = (typeof MODELS)[number];
const USAGE =
  'usage: npm run bench:train -- [--model cnn|resnet|vit|gpt] [--width N] [--blocks N] ' +
  '[--context N] [--heads N] [--steps N] [--warmup N] [--rounds N] [--batch N[,N...]] ' +
  '[--only shadergrad,tfjs,jaxjs] [--tune off|cached|full] [--precision f32|f16]';

/** A bad command line: printed without a stack trace. */
export class UsageError extends Error {}

/** Rounds of interleaved timing unless --rounds says otherwise (fewer if there are fewer steps). */
export const DEFAULT_ROUNDS = 5;

export interface Flags {
  steps: number;
  warmup: number;
  /** The timed steps in this many blocks, the frameworks taking turns (bench/turns.ts). */
  rounds?: number;
  only: Framework[];
  model: ModelKind;
  /** Batch sizes, each benchmarked in turn (default: 64; the GPT's 32, as `shadergrad gpt`). */
  batches?: number[];
  /** ResNet, ViT or GPT knobs; undefined = the preset's default. */
  width?: number;
  blocks?: number;
  /** GPT knobs: positions per window, attention heads. */
  context?: number;
  heads?: number;
  /** shadergrad's autotuner (image models): the CLI's default, cached. */
  tune: TuneMode;
  /** shadergrad's storage precision (image models; TrainConfig.precision): default f32. */
  precision: Precision;
}

/** The numeric flags: the Flags field each sets and its least value. */
const NUMBER_FLAGS = {
  '--steps': { key: 'steps', least: 1 },
  '--warmup': { key: 'warmup', least: 0 },
  '--rounds': { key: 'rounds', least: 1 },
  '--width': { key: 'width', least: 1 },
  '--blocks': { key: 'blocks', least: 1 },
  '--context': { key: 'context', least: 1 },
  '--heads': { key: 'heads', least: 1 },
} as const;
type NumberFlag = keyof typeof NUMBER_FLAGS;
const isNumberFlag = (f: string | undefined): f is NumberFlag =>
  f !== undefined && Object.hasOwn(NUMBER_FLAGS, f);

function wholeNumber(flag: string, value: string, least: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < least)
    throw new UsageError(`${flag} ${value}: expected an integer >= ${least}`);
  return n;
}

export function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = {
    steps: 20,
    warmup: 3,
    only: [...FRAMEWORKS],
    model: 'cnn',
    tune: DEFAULT_TUNE,
    precision: 'f32',
  };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new UsageError(`${flag}: missing value\n${USAGE}`);
    if (isNumberFlag(flag)) {
      const { key, least } = NUMBER_FLAGS[flag];
      flags[key] = wholeNumber(flag, value, least);
    } else if (flag === '--batch') {
      flags.batches = value.split(',').map((v) => wholeNumber('--batch', v, 1));
    } else if (flag === '--model') {
      if (!(MODELS as readonly string[]).includes(value))
        throw new UsageError(`--model ${value}: expected one of ${MODELS.join(', ')}`);
      flags.model = value as ModelKind;
    } else if (flag === '--tune') {
      const mode = TUNE_MODES.find((m) => m === value);
      if (!mode) throw new UsageError(`--tune ${value}: expected one of ${TUNE_MODES.join(', ')}`);
      flags.tune = mode;
    } else if (flag === '--precision') {
      const precision = PRECISIONS.find((p) => p === value);
      if (!precision)
        throw new UsageError(`--precision ${value}: expected one of ${PRECISIONS.join(', ')}`);
      flags.precision = precision;
    } else if (flag === '--only') {
      const names = value.split(',').filter((s) => s !== '');
      const unknown = names.filter((s) => !(FRAMEWORKS as readonly string[]).includes(s));
      if (names.length === 0 || unknown.length > 0)
        throw new UsageError(`--only ${value}: expected a list of ${FRAMEWORKS.join(', ')}`);
      flags.only = names as Framework[];
    } else throw new UsageError(`unknown flag ${flag}\n${USAGE}`);
  }
  refuseInconsistentFlags(flags);
  return flags;
}

/**
 * Flags that cannot hold together: more rounds than timed steps, or a knob the model does not
 * have (it would silently do nothing).
 */
function refuseInconsistentFlags(flags: Flags): void {
  if (flags.rounds !== undefined && flags.rounds > flags.steps)
    throw new UsageError(
      `--rounds ${flags.rounds}: each round times at least one step (--steps ${flags.steps})`,
    );
  if (flags.model === 'cnn' && (flags.width !== undefined || flags.blocks !== undefined))
    throw new UsageError(
      '--width and --blocks are the ResNet, ViT and GPT knobs: add --model resnet, vit or gpt',
    );
  if (flags.model !== 'gpt' && (flags.context !== undefined || flags.heads !== undefined))
    throw new UsageError('--context and --heads are the GPT knobs: add --model gpt');
  if (flags.model === 'gpt' && flags.precision !== 'f32')
    throw new UsageError('--precision f16 applies to the image models (their convolutions)');
}

/**
 * The options every framework trains with: the training config's Adam (1e-3, torch's betas and
 * eps) and seed for every model, the steps of the flags, `batch` windows or images per step.
 */
export function benchOptions(flags: Flags, batch: number): BenchOptions {
  const config = defaultTrainConfig();
  const opt = resolveOptimizerConfig(config.optimizer);
  return {
    steps: flags.steps,
    warmup: flags.warmup,
    rounds: flags.rounds ?? Math.min(DEFAULT_ROUNDS, flags.steps),
    batch,
    lr: opt.lr,
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    seed: config.seed,
  };
}

/** The GPT's sizes (all but the vocabulary, which the text gives): GPT_DEFAULTS unless flagged. */
export function gptSizes(flags: Flags): Omit<Required<GptConfig>, 'vocab' | 'gelu' | 'tie'> {
  const width = flags.width ?? GPT_DEFAULTS.width;
  const heads = flags.heads ?? GPT_DEFAULTS.heads;
  if (width % heads !== 0) throw new UsageError(`--heads ${heads}: must divide --width ${width}`);
  return {
    context: flags.context ?? GPT_DEFAULTS.context,
    width,
    heads,
    layers: flags.blocks ?? GPT_DEFAULTS.layers,
    // 4·width, as `shadergrad gpt` leaves it (GPT_DEFAULTS.hidden at the default width)
    hidden: 4 * width,
  };
}

/** The image model of the flags, with the text the table and the JSON name it by. */
export function benchModel(flags: Flags & { model: BenchModel['kind'] }): BenchModel {
  if (flags.model === 'cnn')
    return {
      kind: 'cnn',
      config: defaultTrainConfig().model,
      description:
        'reference CNN (conv5x5x32-pool-conv5x5x64-pool-fc1024-fc10), softmax cross-entropy',
    };
  if (flags.model === 'vit') {
    const width = flags.width ?? VIT_DEFAULTS.width;
    const blocks = flags.blocks ?? VIT_DEFAULTS.blocks;
    return {
      kind: 'vit',
      config: vitModel({ width, blocks }),
      description:
        `ViT (7x7 patches -> 16 tokens of width ${width}, ${blocks} pre-norm blocks of ` +
        `${VIT_DEFAULTS.heads} heads and a ${2 * width}-unit GELU MLP, mean over tokens, fc10), ` +
        'softmax cross-entropy',
    };
  }
  const width = flags.width ?? RESNET_DEFAULTS.width;
  const blocks = flags.blocks ?? RESNET_DEFAULTS.blocks;
  return {
    kind: 'resnet',
    config: resnetModel({ width, blocks }),
    description:
      `ResNet-${6 * blocks + 2} (conv3x3-bn-relu, 3 stages x ${blocks} basic block(s) of ` +
      `widths ${width}/${2 * width}/${4 * width} with batch norm and skips, global average pool, ` +
      'fc10), softmax cross-entropy',
  };
}
