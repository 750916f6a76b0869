/**
 * bench:train's command line: which model, which frameworks, how many steps, which batch sizes.
 * A bad flag is a UsageError, printed without a stack trace.
 */
import { defaultTrainConfig } from '../src/models/config';
import { resnetModel, RESNET_DEFAULTS } from '../src/models/resnet';
import { vitModel, VIT_DEFAULTS } from '../src/models/vit';
import type { BenchModel } from './peers/common';

export const FRAMEWORKS = ['shadergrad', 'tfjs', 'jaxjs'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
const MODELS = ['cnn', 'resnet', 'vit'] as const;
const USAGE =
  'usage: npm run bench:train -- [--model cnn|resnet|vit] [--width N] [--blocks N] [--steps N] ' +
  '[--warmup N] [--batch N[,N...]] [--only shadergrad,tfjs,jaxjs]';

/** A bad command line: printed without a stack trace. */
export class UsageError extends Error {}

export interface Flags {
  steps: number;
  warmup: number;
  only: Framework[];
  model: BenchModel['kind'];
  /** Batch sizes, each benchmarked in turn (default: the training config's, 64). */
  batches?: number[];
  /** ResNet or ViT knobs; undefined = the preset's default. */
  width?: number;
  blocks?: number;
}

/** The numeric flags: the Flags field each sets and its least value. */
const NUMBER_FLAGS = {
  '--steps': { key: 'steps', least: 1 },
  '--warmup': { key: 'warmup', least: 0 },
  '--width': { key: 'width', least: 1 },
  '--blocks': { key: 'blocks', least: 1 },
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
  const flags: Flags = { steps: 20, warmup: 3, only: [...FRAMEWORKS], model: 'cnn' };
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
      flags.model = value as BenchModel['kind'];
    } else if (flag === '--only') {
      const names = value.split(',').filter((s) => s !== '');
      const unknown = names.filter((s) => !(FRAMEWORKS as readonly string[]).includes(s));
      if (names.length === 0 || unknown.length > 0)
        throw new UsageError(`--only ${value}: expected a list of ${FRAMEWORKS.join(', ')}`);
      flags.only = names as Framework[];
    } else throw new UsageError(`unknown flag ${flag}\n${USAGE}`);
  }
  // A knob the model does not have would silently do nothing: refuse it instead.
  if (flags.model === 'cnn' && (flags.width !== undefined || flags.blocks !== undefined))
    throw new UsageError(
      '--width and --blocks are the ResNet and ViT knobs: add --model resnet or --model vit',
    );
  return flags;
}

/** The model of the flags, with the text the table and the JSON name it by. */
export function benchModel(flags: Flags): BenchModel {
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
