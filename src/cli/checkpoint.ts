/**
 * The run's resumable checkpoint, `checkpoint.safetensors`: one file, written atomically from an
 * in-memory snapshot, holding the parameters (PyTorch's names), the optimizer state (torch.optim's
 * names, `<param>.exp_avg`, ...) and in its metadata the config and the exact position (epoch,
 * batch, global step, shuffle seed and the epoch's running metrics) and the autotuner's choices
 * (so the resumed run takes the same kernels). A single file, so a process
 * killed at any moment leaves either the previous checkpoint or the new one, never a mix of two
 * steps. `--resume DIR` prefers it; runs without it resume from model.safetensors +
 * optimizer.safetensors at an epoch boundary.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ShadergradError,
  optimizerStateNames,
  type Snapshot,
  type TrainPosition,
  type Trainer,
  type TunedProduct,
} from '../core';
import type { TrainConfig } from '../models/config';
import { parameterShapes } from '../models/network';
import { checkFiniteTensors, loadModel, loadOptimizer, savedStep } from '../models/stateDict';
import {
  checkStateDict,
  readSafetensors,
  writeSafetensors,
  type SafetensorsTensor,
} from '../formats/safetensors';
import { writeFileAtomic } from '../formats/safetensorsNode';
import { configOf, readBytes } from './common';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Metadata key of the --data folder a run trains on (absolute); absent for a named dataset. */
export const DATA_DIR_METADATA_KEY = 'shadergrad.dataDir';

/** The metadata that pins a run's --data folder (none for a named dataset, in the config). */
export function dataMetadata(dataDir: string | undefined): Record<string, string> {
  return dataDir === undefined ? {} : { [DATA_DIR_METADATA_KEY]: resolve(dataDir) };
}

type Place = Omit<Snapshot, 'params' | 'state' | 'optimizerStep'>;

/** Metadata key of the autotuner's choices for the run's plans (Trainer.tunedChoices). */
export const TUNING_METADATA_KEY = 'shadergrad.tuning';

/**
 * The snapshot as checkpoint.safetensors bytes; `dataDir` is the run's --data folder, if any,
 * and `tuning` the kernels its plans run (none when tuning is off).
 */
export function snapshotBytes(
  s: Snapshot,
  config: TrainConfig,
  dataDir?: string,
  tuning: readonly TunedProduct[] = [],
): Uint8Array {
  const shapes = parameterShapes(config.model);
  const stateNames = optimizerStateNames(config.optimizer.kind);
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, data] of s.params) {
    const shape = [...(shapes.get(name) ?? [data.length])];
    tensors[name] = { dtype: 'F32', shape, data };
    (s.state.get(name) ?? []).forEach((d, i) => {
      tensors[`${name}.${stateNames[i] ?? `state${i}`}`] = { dtype: 'F32', shape, data: d };
    });
  }
  const place: Place = {
    position: s.position,
    step: s.step,
    permutationSeed: s.permutationSeed,
    lossSum: s.lossSum,
    correct: s.correct,
  };
  return writeSafetensors(tensors, {
    format: 'pt',
    'shadergrad.config': JSON.stringify(config),
    'shadergrad.position': JSON.stringify(place),
    optimizer: config.optimizer.kind,
    step: String(s.optimizerStep),
    epoch: String(s.position.epoch - 1),
    ...dataMetadata(dataDir),
    ...(tuning.length > 0 ? { [TUNING_METADATA_KEY]: JSON.stringify(tuning) } : {}),
  });
}

/** Reads checkpoint.safetensors back into a snapshot of `config`'s model, checking every tensor. */
export function snapshotFromBytes(
  bytes: Uint8Array,
  source: string,
  config: TrainConfig,
): Snapshot {
  const file = readSafetensors(bytes, source);
  const stateNames = optimizerStateNames(config.optimizer.kind);
  const expected: Record<string, number[]> = {};
  for (const [name, shape] of parameterShapes(config.model)) {
    expected[name] = [...shape];
    for (const s of stateNames) expected[`${name}.${s}`] = [...shape];
  }
  checkStateDict(file.tensors, expected, source);
  checkFiniteTensors(file.tensors, source);
  const f32 = (name: string): Float32Array => {
    const t = file.tensors[name];
    if (t?.dtype !== 'F32') throw new ShadergradError(`${source}: ${name} is not F32`);
    return t.data;
  };
  const params = new Map<string, Float32Array>();
  const state = new Map<string, Float32Array[]>();
  for (const name of parameterShapes(config.model).keys()) {
    params.set(name, f32(name));
    state.set(
      name,
      stateNames.map((s) => f32(`${name}.${s}`)),
    );
  }
  return {
    ...readPlace(file.metadata['shadergrad.position'], source),
    optimizerStep: savedStep(file.metadata.step, source),
    params,
    state,
  };
}

function readPlace(text: string | undefined, source: string): Place {
  const bad = (why: string): never => {
    throw new ShadergradError(`${source}: metadata shadergrad.position ${why}`);
  };
  if (text === undefined) return bad('is missing');
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    return bad('is not JSON');
  }
  const place = p as Partial<Place> & { position?: Partial<TrainPosition> };
  const counts = [place.position?.epoch, place.position?.batch, place.step, place.correct];
  if (
    !counts.every((n) => Number.isInteger(n) && (n ?? -1) >= 0) ||
    (place.position?.epoch ?? 0) < 1
  )
    bad('has no valid epoch, batch, step and correct count');
  if (!Number.isFinite(place.lossSum) || !Number.isInteger(place.permutationSeed))
    bad('has no valid lossSum and permutationSeed');
  return place as Place;
}

const SOURCES: readonly TunedProduct['source'][] = ['timed', 'cached', 'small', 'budget'];

/** The tuning metadata's choices, checked field by field; undefined when there is none. */
function readTuning(text: string | undefined, source: string): TunedProduct[] | undefined {
  if (text === undefined) return undefined;
  const bad = (why: string): never => {
    throw new ShadergradError(`${source}: metadata ${TUNING_METADATA_KEY} ${why}`);
  };
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return bad('is not JSON');
  }
  if (!Array.isArray(list)) return bad('is not a list of kernel choices');
  return list.map((entry: unknown, i) => {
    const p = entry as Partial<Record<keyof TunedProduct, unknown>>;
    const times = [p.ms, p.defaultMs].every((t) => t === undefined || typeof t === 'number');
    const ok =
      typeof p.key === 'string' &&
      typeof p.choice === 'string' &&
      typeof p.label === 'string' &&
      typeof p.flops === 'number' &&
      SOURCES.some((s) => s === p.source) &&
      times;
    return ok ? (p as TunedProduct) : bad(`entry ${i} is not a kernel choice (key, choice, ...)`);
  });
}

/** Where `--resume DIR` continues and how to load the saved state into a trainer. */
export interface ResumePoint {
  position: TrainPosition;
  restore(trainer: Trainer): void;
  /** The kernels the saved run's plans ran, for TuneOptions.replay; absent when untuned. */
  tuning?: TunedProduct[];
}

/** A run saved in a folder: its config, and its state read for the config it resumes with. */
export interface SavedRun {
  readonly config: TrainConfig;
  /** The --data folder it trains on (absolute); undefined for the named dataset. */
  readonly dataDir?: string;
  /** The resume point, checked against `config` (the saved one, maybe changed by flags). */
  resumeAt(config: TrainConfig): ResumePoint;
}

/**
 * Reads the run saved in `dir` (resolveTrainConfig decides the config it resumes with): its
 * checkpoint.safetensors if there is one, else model.safetensors + optimizer.safetensors at the
 * end of their epoch. A file missing or not written by shadergrad is named in the error.
 */
export async function readSavedRun(dir: string): Promise<SavedRun> {
  const path = join(dir, CHECKPOINT_FILE);
  if (existsSync(path)) {
    const bytes = await readBytes(path, '--resume');
    const { metadata } = readSafetensors(bytes, path);
    return {
      config: configOf(bytes, path),
      dataDir: metadata[DATA_DIR_METADATA_KEY],
      resumeAt(config) {
        const snapshot = snapshotFromBytes(bytes, path, config);
        const tuning = readTuning(metadata[TUNING_METADATA_KEY], path);
        return {
          position: snapshot.position,
          restore: (t) => t.restore(snapshot),
          ...(tuning ? { tuning } : {}),
        };
      },
    };
  }
  const modelPath = join(dir, 'model.safetensors');
  const optimizerPath = join(dir, 'optimizer.safetensors');
  const model = await readBytes(modelPath, '--resume');
  const optimizer = await readBytes(optimizerPath, '--resume');
  const { metadata } = readSafetensors(model, modelPath);
  const done = Number(metadata.epoch ?? '0');
  const restore = (trainer: Trainer): void => {
    loadModel(trainer, model, modelPath);
    loadOptimizer(trainer, optimizer, optimizerPath);
  };
  return {
    config: configOf(model, modelPath),
    dataDir: metadata[DATA_DIR_METADATA_KEY],
    resumeAt: () => ({ position: { epoch: done + 1, batch: 0 }, restore }),
  };
}

/** Keeps metrics.jsonl's lines of the epochs the checkpoint has finished (a resumed run redoes the rest). */
export async function trimMetrics(path: string, epochsDone: number): Promise<void> {
  if (!existsSync(path)) return;
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l) => {
    try {
      return ((JSON.parse(l) as { epoch?: number }).epoch ?? 0) <= epochsDone;
    } catch {
      return false; // a line cut short by a kill
    }
  });
  if (kept.length !== lines.length)
    await writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => `${l}\n`).join('')));
}
