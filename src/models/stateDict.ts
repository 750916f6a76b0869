/**
 * Checkpoints as safetensors with PyTorch's names and layouts, so `model.load_state_dict` of the
 * equivalent torch module (conv1, conv2, fc1, fc2, ...) accepts the model file as it is. The
 * optimizer state goes to a sibling file with torch.optim's state names per parameter
 * (`<param>.exp_avg`, `<param>.exp_avg_sq` for Adam; `<param>.momentum_buffer`;
 * `<param>.square_avg` for RMSprop) and the step count in its metadata.
 */
import { ShadergradError, optimizerStateNames, type ParameterStore, type Trainer } from '../core';
import {
  checkStateDict,
  readSafetensors,
  writeSafetensors,
  type SafetensorsFile,
  type SafetensorsTensor,
} from '../formats/safetensors';
import type { TrainConfig } from './config';
import { parseTrainConfigText } from './configJson';

/** What holds a model's parameters on the GPU: a Trainer or a Predictor. */
export interface HasParameters {
  readonly store: ParameterStore;
  /**
   * Tied weights: a name torch's state dict has that is another parameter here (e.g. a GPT's
   * `head.weight` -> `wte.weight`). Saved as a copy under both names, as torch's state_dict of a
   * tied module does, so `load_state_dict` (strict) accepts the file; on load the copy must equal
   * its parameter.
   */
  readonly aliases?: ReadonlyMap<string, string>;
}

/**
 * Largest optimizer step count a saved state may hold. The GPU counter is a u32: a count near
 * 2^32 would wrap within the run (Adam's bias correction restarting), and no real run gets
 * within 2^31 steps of that, so such a count means a damaged file.
 */
export const MAX_SAVED_STEP = 2 ** 31;

/** The `step` metadata of a saved optimizer state, checked; errors name the file. */
export function savedStep(text: string | undefined, source: string): number {
  const step = Number(text ?? 'NaN');
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(step))
    throw new ShadergradError(`${source}: metadata step '${text}' is not a step count`);
  if (step > MAX_SAVED_STEP)
    throw new ShadergradError(
      `${source}: metadata step ${step} is near 2^32, where the GPU's step counter wraps; the file is damaged`,
    );
  return step;
}

/** Throws, naming the tensor, if a saved weight or optimizer state holds a NaN or an infinity. */
export function checkFiniteTensors(
  tensors: Record<string, SafetensorsTensor>,
  source: string,
): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'F32') continue;
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0)
      throw new ShadergradError(
        `${source}: tensor "${name}" holds ${t.data[i]} at element ${i} (shadergrad never saves a non-finite state: the file is damaged)`,
      );
  }
}

/** The metadata key under which shadergrad saves a model file's TrainConfig (JSON). */
export const CONFIG_METADATA_KEY = 'shadergrad.config';

/** Metadata for modelBytes that lets loadPredictor (and `shadergrad eval`) rebuild the model. */
export function configMetadata(config: TrainConfig): Record<string, string> {
  return { [CONFIG_METADATA_KEY]: JSON.stringify(config) };
}

/** The config saved in a model file's metadata, checked key by key; undefined when there is none. */
export function savedConfig(file: SafetensorsFile, source: string): TrainConfig | undefined {
  const text = file.metadata[CONFIG_METADATA_KEY];
  if (text === undefined) return undefined;
  return parseTrainConfigText(text, `${source}: metadata ${CONFIG_METADATA_KEY}`);
}

/**
 * torch's batch norm counter, `<bn>.num_batches_tracked` (an int64 scalar), for each batch norm
 * of the store (the layers with a running mean). shadergrad does not keep it: every training
 * step runs every batch norm once in training mode, so it is the optimizer's step count.
 */
function batchCounterNames(store: ParameterStore): string[] {
  const suffix = '.running_mean';
  return [...store.params.keys()]
    .filter((n) => n.endsWith(suffix))
    .map((n) => `${n.slice(0, -suffix.length)}.num_batches_tracked`);
}

/** The parameters as safetensors bytes (metadata: whatever the caller passes, e.g. the config). */
export async function modelBytes(
  trainer: HasParameters,
  metadata: Record<string, string> = {},
  only?: (name: string) => boolean,
): Promise<Uint8Array> {
  const tensors: Record<string, SafetensorsTensor> = {};
  const { store } = trainer;
  for (const [name, p] of store.params) {
    if (only && !only(name)) continue;
    tensors[name] = { dtype: 'F32', shape: [...p.spec.shape], data: await store.read(name) };
  }
  for (const [alias, target] of trainer.aliases ?? []) {
    const p = store.params.get(target);
    if (!p || (only && !only(alias))) continue;
    tensors[alias] = { dtype: 'F32', shape: [...p.spec.shape], data: await store.read(target) };
  }
  const steps = store.trainable ? await store.readStep() : 0;
  for (const name of batchCounterNames(store)) {
    if (only && !only(name)) continue;
    tensors[name] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(steps)) };
  }
  return writeSafetensors(tensors, { format: 'pt', ...metadata });
}

export async function optimizerBytes(
  trainer: Trainer,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const kind = trainer.store.optimizer?.kind ?? 'sgd';
  const names = optimizerStateNames(kind);
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, p] of trainer.store.params) {
    const state = await trainer.store.readState(name);
    state.forEach((data, i) => {
      tensors[`${name}.${names[i] ?? `state${i}`}`] = {
        dtype: 'F32',
        shape: [...p.spec.shape],
        data,
      };
    });
  }
  return writeSafetensors(tensors, {
    optimizer: kind,
    step: String(await trainer.store.readStep()),
    ...metadata,
  });
}

/** Loads parameters; names, dtypes and shapes must match the model exactly. */
export function loadModel(
  trainer: HasParameters,
  bytes: Uint8Array,
  source: string,
): SafetensorsFile {
  const file = readSafetensors(bytes, source);
  loadParameters(trainer.store, withoutAliases(file, trainer.aliases, source), source);
  return file;
}

/**
 * The file without the tied copies (each checked against its parameter's tensor in the same
 * file), so that files written with or without them load alike.
 */
function withoutAliases(
  file: SafetensorsFile,
  aliases: ReadonlyMap<string, string> | undefined,
  source: string,
): SafetensorsFile {
  if (!aliases || aliases.size === 0) return file;
  const tensors = { ...file.tensors };
  for (const [alias, target] of aliases) {
    const copy = tensors[alias];
    if (!copy) continue;
    const original = tensors[target];
    const same =
      original !== undefined &&
      copy.dtype === original.dtype &&
      copy.data.length === original.data.length &&
      copy.data.every((v, i) => Object.is(v, original.data[i]));
    if (!same)
      throw new ShadergradError(
        `${source}: ${alias} differs from ${target}, but this model ties them (one tensor under both names)`,
      );
    delete tensors[alias];
  }
  return { ...file, tensors };
}

/**
 * Writes a parsed file's tensors into the store; each must be there, F32, of its exact shape.
 * Batch norm counters (`num_batches_tracked`, int64 scalars) must be there too, as torch's
 * strict loading wants them; their values are not needed (see batchCounterNames).
 */
export function loadParameters(store: ParameterStore, file: SafetensorsFile, source: string): void {
  const expected: Record<string, number[]> = {};
  for (const [name, p] of store.params) expected[name] = [...p.spec.shape];
  const counters = Object.fromEntries(batchCounterNames(store).map((n) => [n, []]));
  const floats = Object.fromEntries(
    Object.entries(file.tensors).filter(([name]) => !Object.hasOwn(counters, name)),
  );
  const ints = Object.fromEntries(
    Object.entries(file.tensors).filter(([name]) => Object.hasOwn(counters, name)),
  );
  checkStateDict(floats, expected, source);
  checkStateDict(ints, counters, source, 'I64');
  for (const name of Object.keys(expected)) {
    const t = file.tensors[name];
    if (t?.dtype === 'F32') store.write(name, t.data);
  }
}

/** Loads optimizer state written by optimizerBytes for the same optimizer kind and model. */
export function loadOptimizer(
  trainer: Trainer,
  bytes: Uint8Array,
  source: string,
): SafetensorsFile {
  const file = readSafetensors(bytes, source);
  const kind = trainer.store.optimizer?.kind ?? 'sgd';
  if (file.metadata.optimizer !== kind)
    throw new ShadergradError(
      `${source}: holds ${file.metadata.optimizer ?? 'no'} optimizer state, the run uses ${kind}`,
    );
  const names = optimizerStateNames(kind);
  const expected: Record<string, number[]> = {};
  for (const [name, p] of trainer.store.trainableParams())
    for (const s of names) expected[`${name}.${s}`] = [...p.spec.shape];
  checkStateDict(file.tensors, expected, source);
  checkFiniteTensors(file.tensors, source);
  const step = savedStep(file.metadata.step, source);
  for (const [name] of trainer.store.trainableParams()) {
    const state = names.map((s) => file.tensors[`${name}.${s}`]?.data);
    trainer.store.writeState(
      name,
      state.filter((d): d is Float32Array => d instanceof Float32Array),
    );
  }
  trainer.store.writeStep(step);
  return file;
}
