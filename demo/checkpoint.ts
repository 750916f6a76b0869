/**
 * The demo's checkpoints: safetensors files with the network's parameters under PyTorch's
 * names and, in the metadata, the training config that made them (`shadergrad.config`), so a
 * checkpoint of another architecture can rebuild the network before it loads.
 */
import {
  encodeGrayPng,
  filterGrid,
  parseTrainConfig,
  readSafetensors,
  validateModel,
  type TrainConfig,
  type TrainerWorker,
  type WorkerModel,
} from './api';
import { download } from './view';

/** A checkpoint file read and checked, not loaded yet. */
export interface Checkpoint {
  name: string;
  bytes: Uint8Array;
  /** The config it was saved with, when its metadata has one. */
  config?: TrainConfig;
}

/**
 * Reads `file` and checks all that can be checked without touching the network: the
 * safetensors layout and the saved config, so a bad file fails before anything is replaced.
 * Names and shapes are checked by the worker's loadWeights, which writes nothing on a mismatch.
 */
export async function readCheckpoint(file: File): Promise<Checkpoint> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const saved = readSafetensors(bytes, file.name).metadata['shadergrad.config'];
  if (saved === undefined) return { name: file.name, bytes };
  let json: unknown;
  try {
    json = JSON.parse(saved);
  } catch {
    throw new Error(`${file.name}: its shadergrad.config metadata is not JSON`);
  }
  const config = parseTrainConfig(json, `${file.name} metadata`);
  validateModel(config.model);
  return { name: file.name, bytes, config };
}

/** Offers the network (or only its first layer, with a PNG of its filters) as downloads. */
export async function saveCheckpoint(
  worker: TrainerWorker,
  model: WorkerModel,
  step: number,
  firstLayerOnly: boolean,
): Promise<void> {
  const first = model.parameters[0];
  if (!first) return;
  const meta = { 'shadergrad.config': JSON.stringify(model.config), step: String(step) };
  const layer = first.name.split('.')[0] ?? first.name;
  const names = model.parameters.map((p) => p.name).filter((n) => n.startsWith(`${layer}.`));
  const bytes = await worker.saveWeights(meta, firstLayerOnly ? names : undefined);
  const type = 'application/octet-stream';
  download(bytes, firstLayerOnly ? `${layer}.safetensors` : 'model.safetensors', type);
  if (firstLayerOnly && first.shape.length === 4) {
    const grid = filterGrid(await worker.parameter(first.name), first.shape);
    download(encodeGrayPng(grid.pixels, grid.width, grid.height), `${layer}.png`, 'image/png');
  }
}
