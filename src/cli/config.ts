/**
 * The train config of a CLI run, decided here and only here. Precedence, lowest first:
 *
 *   defaults <- --config FILE <- the resumed run's config (--resume DIR) <- command-line flags
 *
 * A config file is parsed over the defaults and a run saves its whole config, so the highest
 * source given is the base and the flags go over it; the model is validated once, after the
 * merge. With --resume the saved config is the base and --config is not read at all (the saved
 * run already holds the config it was started with). A resumed run also keeps its data: the
 * dataset, --limit and --data folder it was started with (see pinData).
 */
import { resolve } from 'node:path';
import { readFileCapped } from '../base/filesNode';
import {
  ShadergradError,
  type LrSchedule,
  type LrScheduleKind,
  type OptimizerConfig,
  type OptimizerKind,
} from '../core';
import {
  applyKnobs,
  defaultTrainConfig,
  referenceCnn,
  validateModel,
  type CnnKnobs,
  type DatasetName,
  type Precision,
  type ModelConfig,
  type TrainConfig,
} from '../models/config';
import { resnetModel, type ResnetKnobs } from '../models/resnet';
import { vitModel, type VitKnobs } from '../models/vit';
import { MAX_CONFIG_CHARS, parseTrainConfigText } from '../models/configJson';
import { readSavedRun, type ResumePoint, type SavedRun } from './checkpoint';

/** The training settings given on the command line (absent = keep the config's value). */
export interface TrainFlags {
  dataset?: DatasetName;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  limit?: number;
  optimizer?: OptimizerKind;
  /** The optimizer utilities (--weight-decay, --lr-schedule, ...), merged by optimizerWithFlags. */
  weightDecay?: number;
  lrSchedule?: LrScheduleKind;
  warmupSteps?: number;
  lrStepSize?: number;
  lrGamma?: number;
  minLr?: number;
  lrTotalSteps?: number;
  clipGradNorm?: number;
  decayBiasAndNorm?: boolean;
  snapshotEvery?: number;
  precision?: Precision;
  checkpointEvery?: number;
  /** Architecture knobs; each flag is named like its knob (--features, --kernel, ...). */
  knobs: CnnKnobs;
  /** --model: start from a preset instead of the config's model. */
  model?: ModelPreset;
  /**
   * The resnet preset's knobs (--width, --blocks, --no-skip, --no-bn); need --model resnet, but
   * --width and --blocks also shape --model vit.
   */
  resnet?: ResnetKnobs;
  /** The vit preset's own knobs (--heads, --patch); need --model vit. */
  vit?: Pick<VitKnobs, 'heads' | 'patch'>;
}

/** The models --model names: the reference CNN, the residual network, the vision transformer. */
export const MODEL_PRESETS = ['cnn', 'resnet', 'vit'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

const RESNET_FLAGS: Record<keyof ResnetKnobs, string> = {
  width: '--width',
  blocks: '--blocks',
  skip: '--no-skip',
  batchNorm: '--no-bn',
};

/** What the command line says about the config (a parsed train command has these fields). */
export interface ConfigArgs {
  flags: TrainFlags;
  /** --config FILE. */
  configFile?: string;
  /** --resume DIR. */
  resume?: string;
  /** --data DIR. */
  dataDir?: string;
}

/** A run's config and, with --resume, where the run continues and how to load its state. */
export interface ResolvedConfig {
  config: TrainConfig;
  resume?: ResumePoint;
  /** The IDX folder to train on (--data, or the resumed run's); undefined = config.dataset. */
  dataDir?: string;
}

/**
 * The config of the run `args` describes (see the header for the precedence), validated; with
 * --resume also its resume point. Errors name the flag or file at fault.
 */
export async function resolveTrainConfig(args: ConfigArgs): Promise<ResolvedConfig> {
  if (args.resume !== undefined) return resumeConfig(args.resume, args.flags, args.dataDir);
  const base =
    args.configFile === undefined ? defaultTrainConfig() : await readConfigFile(args.configFile);
  return { config: applyFlags(base, args.flags), dataDir: args.dataDir };
}

/** The saved run's config with the flags over it, and its state checked against that config. */
async function resumeConfig(
  dir: string,
  flags: TrainFlags,
  dataDir: string | undefined,
): Promise<ResolvedConfig> {
  const saved = await readSavedRun(dir);
  const pinned = pinData(dir, saved, flags, dataDir);
  const config = applyFlags(saved.config, flags);
  const resume = saved.resumeAt(config);
  // A mid-epoch position counts batches of the saved size: another size would skip or redo samples.
  if (resume.position.batch > 0 && config.batchSize !== saved.config.batchSize)
    throw new ShadergradError(
      `--batch: the run stopped mid-epoch at batch size ${saved.config.batchSize}; resume it with that size`,
    );
  return { config, resume, dataDir: pinned };
}

/**
 * The data a resumed run trains on: the one it was started with. A flag naming other data is
 * refused: the position and the epoch's running metrics count samples of that data, and another
 * set would silently mix two runs (another --limit mid-epoch even recorded loss 0).
 */
function pinData(
  dir: string,
  saved: SavedRun,
  flags: TrainFlags,
  dataDir: string | undefined,
): string | undefined {
  const was = saved.dataDir;
  const source = was === undefined ? `--dataset ${saved.config.dataset}` : `--data ${was}`;
  const refuse = (given: string, savedAs: string): never => {
    throw new ShadergradError(
      `${given}: the run in ${dir} trains on ${savedAs}; resume it without this flag, or start a new run in another --out`,
    );
  };
  if (dataDir !== undefined && resolve(dataDir) !== was) refuse(`--data ${dataDir}`, source);
  if (flags.dataset !== undefined && (was !== undefined || flags.dataset !== saved.config.dataset))
    refuse(`--dataset ${flags.dataset}`, source);
  const limit = saved.config.limit;
  if (flags.limit !== undefined && flags.limit !== limit)
    refuse(`--limit ${flags.limit}`, limit === undefined ? 'all its samples' : `--limit ${limit}`);
  return was;
}

/**
 * The defaults with the flags applied, which parseArgs keeps as `cmd.config` (the config of a run
 * without --config or --resume). Validated, so that a bad flag fails before any file is read,
 * except with a config file: the flags may fit its model and not the default one.
 */
export function defaultsWithFlags(flags: TrainFlags, configFile: boolean): TrainConfig {
  const d = defaultTrainConfig();
  return configFile ? mergeFlags(d, flags) : applyFlags(d, flags);
}

/** A copy of `config` (e.g. from a config file) with the command-line flags applied; validated. */
export function applyFlags(config: TrainConfig, flags: TrainFlags): TrainConfig {
  const merged = mergeFlags(config, flags);
  validateModel(merged.model);
  return merged;
}

/**
 * The model the flags ask for: --model's preset (for the config's input and classes) or the
 * config's model, with the CNN knobs applied. A knob of the other preset is refused, so a flag
 * never silently does nothing.
 */
function modelWithFlags(model: ModelConfig, f: TrainFlags): ModelConfig {
  const resnetFlags = (Object.keys(f.resnet ?? {}) as (keyof ResnetKnobs)[]).map(
    (k) => RESNET_FLAGS[k],
  );
  const vitFlag = Object.keys(f.vit ?? {}).map((k) => `--${k}`)[0];
  const cnnFlag = Object.keys(f.knobs)[0];
  if ((f.model === 'resnet' || f.model === 'vit') && cnnFlag !== undefined)
    throw new ShadergradError(
      `--${cnnFlag}: a knob of the CNN; the ${f.model}'s are ${f.model === 'vit' ? '--width, --blocks, --heads, --patch' : '--width, --blocks, --no-skip, --no-bn'}`,
    );
  if (vitFlag !== undefined && f.model !== 'vit')
    throw new ShadergradError(`${vitFlag}: a knob of the vit preset; add --model vit`);
  if (f.model === 'vit') {
    const resnetOnly = resnetFlags.find((flag) => flag === '--no-skip' || flag === '--no-bn');
    if (resnetOnly) throw new ShadergradError(`${resnetOnly}: a knob of the resnet preset`);
    const { width, blocks } = f.resnet ?? {};
    const sizes = { ...(width ? { width } : {}), ...(blocks ? { blocks } : {}) };
    return vitModel({ ...sizes, ...f.vit }, model.input, model.classes);
  }
  if (f.model === 'resnet') return resnetModel(f.resnet ?? {}, model.input, model.classes);
  const shared = resnetFlags[0] === '--width' || resnetFlags[0] === '--blocks' ? ' (or vit)' : '';
  if (resnetFlags[0] !== undefined)
    throw new ShadergradError(
      `${resnetFlags[0]}: a knob of the resnet${shared} preset; add --model resnet`,
    );
  const base = f.model === 'cnn' ? { ...referenceCnn(), input: model.input } : model;
  return applyKnobs(base, f.knobs, (knob) => `--${knob}`);
}

/** `config` with the command-line flags applied; the model is not validated. */
function mergeFlags(config: TrainConfig, f: TrainFlags): TrainConfig {
  return {
    ...config,
    model: modelWithFlags(config.model, f),
    optimizer: optimizerWithFlags(config.optimizer, f),
    dataset: f.dataset ?? config.dataset,
    epochs: f.epochs ?? config.epochs,
    batchSize: f.batchSize ?? config.batchSize,
    seed: f.seed ?? config.seed,
    limit: f.limit ?? config.limit,
    snapshotEvery: f.snapshotEvery ?? config.snapshotEvery,
    checkpointEvery: f.checkpointEvery ?? config.checkpointEvery,
    ...((f.precision ?? config.precision) ? { precision: f.precision ?? config.precision } : {}),
  };
}

/** The config's optimizer with the flags applied (a flag left out keeps the config's value). */
function optimizerWithFlags(o: OptimizerConfig, f: TrainFlags): OptimizerConfig {
  const out: OptimizerConfig = { ...o, kind: f.optimizer ?? o.kind, lr: f.lr ?? o.lr };
  if (f.weightDecay !== undefined) out.weightDecay = f.weightDecay;
  if (f.warmupSteps !== undefined) out.warmupSteps = f.warmupSteps;
  if (f.clipGradNorm !== undefined) out.clipGradNorm = f.clipGradNorm;
  if (f.decayBiasAndNorm !== undefined) out.decayBiasAndNorm = f.decayBiasAndNorm;
  const schedule = scheduleWithFlags(o.schedule, f);
  if (schedule) out.schedule = schedule;
  return out;
}

/** A schedule flag that the chosen schedule does not read is refused, naming the flag. */
const SCHEDULE_FLAGS: [keyof TrainFlags, string, LrScheduleKind][] = [
  ['lrStepSize', '--lr-step-size', 'step'],
  ['lrGamma', '--lr-gamma', 'step'],
  ['minLr', '--min-lr', 'cosine'],
  ['lrTotalSteps', '--lr-total-steps', 'cosine'],
];

/**
 * The schedule the flags ask for over the config's. A cosine without --lr-total-steps (or a
 * config's totalSteps) gets totalSteps 0: the whole run, filled in by withRunLength once the
 * training set is loaded.
 */
function scheduleWithFlags(s: LrSchedule | undefined, f: TrainFlags): LrSchedule | undefined {
  const kind = f.lrSchedule ?? s?.kind;
  for (const [key, flag, needs] of SCHEDULE_FLAGS)
    if (f[key] !== undefined && kind !== needs)
      throw new ShadergradError(
        `${flag}: a setting of the ${needs} schedule; add --lr-schedule ${needs}`,
      );
  switch (kind) {
    case undefined:
      return undefined;
    case 'constant':
      return { kind };
    case 'step': {
      const stepSize = f.lrStepSize ?? (s?.kind === 'step' ? s.stepSize : undefined);
      if (stepSize === undefined)
        throw new ShadergradError('--lr-schedule step: needs --lr-step-size N');
      const gamma = f.lrGamma ?? (s?.kind === 'step' ? s.gamma : undefined);
      return gamma === undefined ? { kind, stepSize } : { kind, stepSize, gamma };
    }
    case 'cosine': {
      const old = s?.kind === 'cosine' ? s : undefined;
      const totalSteps = f.lrTotalSteps ?? old?.totalSteps ?? 0;
      const minLr = f.minLr ?? old?.minLr;
      return minLr === undefined ? { kind, totalSteps } : { kind, totalSteps, minLr };
    }
    default:
      return kind satisfies never;
  }
}

/**
 * `config` with a cosine schedule's totalSteps 0 (the whole run, the CLI's default) replaced by
 * epochs x steps per epoch, floor(trainSamples / batchSize) (the trainer drops the last partial
 * batch). Other configs are returned as they are.
 */
export function withRunLength(config: TrainConfig, trainSamples: number): TrainConfig {
  const s = config.optimizer.schedule;
  if (s?.kind !== 'cosine' || s.totalSteps !== 0) return config;
  const totalSteps = config.epochs * Math.floor(trainSamples / config.batchSize);
  return { ...config, optimizer: { ...config.optimizer, schedule: { ...s, totalSteps } } };
}

/** The --config file, read no further than a config may be long, parsed over the defaults. */
async function readConfigFile(path: string): Promise<TrainConfig> {
  const bytes = await readFileCapped(path, MAX_CONFIG_CHARS, `--config ${path}`);
  return parseTrainConfigText(new TextDecoder().decode(bytes), `--config ${path}`);
}
