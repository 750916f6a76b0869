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

/** The parameters as safetensors bytes (metadata: whatever the caller passes, e.g. the config). */
export async function modelBytes(
  trainer: HasParameters,
  metadata: Record<string, string> = {},
  only?: (name: string) => boolean,
): Promise<Uint8Array> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, p] of trainer.store.params) {
    if (only && !only(name)) continue;
    tensors[name] = {
      dtype: 'F32',
      shape: [...p.spec.shape],
      data: await trainer.store.read(name),
    };
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
  loadParameters(trainer.store, file, source);
  return file;
}

/** Writes a parsed file's tensors into the store; each must be there, F32, of its exact shape. */
export function loadParameters(store: ParameterStore, file: SafetensorsFile, source: string): void {
  const expected: Record<string, number[]> = {};
  for (const [name, p] of store.params) expected[name] = [...p.spec.shape];
  checkStateDict(file.tensors, expected, source);
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
  for (const [name, p] of trainer.store.params)
    for (const s of names) expected[`${name}.${s}`] = [...p.spec.shape];
  checkStateDict(file.tensors, expected, source);
  for (const name of trainer.store.params.keys()) {
    const state = names.map((s) => file.tensors[`${name}.${s}`]?.data);
    trainer.store.writeState(
      name,
      state.filter((d): d is Float32Array => d instanceof Float32Array),
    );
  }
  const step = Number(file.metadata.step ?? 'NaN');
  if (!Number.isInteger(step) || step < 0)
    throw new ShadergradError(
      `${source}: metadata step '${file.metadata.step}' is not a step count`,
    );
  trainer.store.writeStep(step);
  return file;
}
