/** What the CLI's commands share: datasets, files, a checkpoint's config, number formats. */
import { ShadergradError } from '../core';
import type { TrainConfig } from '../models/config';
import { CONFIG_METADATA_KEY, savedConfig } from '../models/stateDict';
import { readSafetensors } from '../formats/safetensors';
import { readSafetensorsBytes } from '../formats/safetensorsNode';
import { limitDataset, type DatasetSplit } from '../data/datasets';
import { shownPath } from './files';
import { loadFashionMnist, loadIdxDir, loadMnist } from '../data/datasetsNode';
export { mib } from '../base/units';

export async function loadSplit(
  dataset: TrainConfig['dataset'],
  dataDir: string | undefined,
  testLimit?: number,
): Promise<DatasetSplit> {
  const split = dataDir
    ? await loadIdxDir(dataDir)
    : dataset === 'fashion'
      ? await loadFashionMnist()
      : await loadMnist();
  if (testLimit === undefined) return split;
  return { ...split, test: limitDataset(split.test, Math.min(testLimit, split.test.count)) };
}

/** A safetensors file given to `flag`, read no further than its header declares. */
export function readBytes(path: string, flag: string): Promise<Uint8Array> {
  return readSafetensorsBytes(path, `${flag} ${shownPath(path)}`);
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

export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
