/** What the CLI's commands share: datasets, files, a checkpoint's config, number formats. */
import { readFile } from 'node:fs/promises';
import { ShadergradError } from '../core';
import type { TrainConfig } from '../models/config';
import { CONFIG_METADATA_KEY, savedConfig } from '../models/stateDict';
import { readSafetensors } from '../formats/safetensors';
import type { DatasetSplit } from '../data/datasets';
import { loadFashionMnist, loadIdxDir, loadMnist } from '../data/datasetsNode';
import { causeOf } from './files';

export async function loadSplit(
  dataset: TrainConfig['dataset'],
  dataDir: string | undefined,
): Promise<DatasetSplit> {
  if (dataDir) return loadIdxDir(dataDir);
  return dataset === 'fashion' ? loadFashionMnist() : loadMnist();
}

export async function readBytes(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ShadergradError(`${flag} ${path}: cannot read the file${causeOf(e)}`, { cause: e });
  }
}

/** The config saved in a checkpoint's metadata. */
export function configOf(bytes: Uint8Array, source: string): TrainConfig {
  const config = savedConfig(readSafetensors(bytes, source), source);
  if (!config)
    throw new ShadergradError(
      `${source}: no ${CONFIG_METADATA_KEY} metadata (was it written by shadergrad?)`,
    );
  return config;
}

export const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
