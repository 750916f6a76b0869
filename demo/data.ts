/**
 * Datasets for the demo: MNIST from its IDX files (served under ../data/mnist/, see
 * scripts/datasetAssets.ts) or Fashion-MNIST from its ten per-class JSON files (~15 MB each,
 * fetched only when chosen), and single images as the trainer takes them: [1, 28, 28] as
 * byte / 255 (as the GPU gather does).
 */
import {
  ShadergradError,
  datasetFromIdx,
  fashionSplit,
  parseFashionClassJson,
  type Dataset,
  type DatasetName,
  type DatasetSplit,
} from './api';

export const digitNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

async function fetchBytes(path: string): Promise<Uint8Array> {
  const url = new URL(`../data/${path}`, location.href);
  const res = await fetch(url);
  if (!res.ok)
    throw new ShadergradError(`${url.pathname}: HTTP ${res.status} (is the page served by Vite?)`);
  return new Uint8Array(await res.arrayBuffer());
}

async function loadMnist(): Promise<DatasetSplit> {
  const split = async (name: string, prefix: string): Promise<Dataset> => {
    const images = `${prefix}-images-idx3-ubyte`;
    const labels = `${prefix}-labels-idx1-ubyte`;
    const [i, l] = await Promise.all([
      fetchBytes(`mnist/${images}`),
      fetchBytes(`mnist/${labels}`),
    ]);
    return { ...datasetFromIdx(i, l, { name, images, labels }), classNames: digitNames };
  };
  const [train, test] = await Promise.all([
    split('MNIST train', 'train'),
    split('MNIST test', 't10k'),
  ]);
  return { train, test };
}

async function loadFashion(onStatus: (text: string) => void): Promise<DatasetSplit> {
  const classes = [];
  for (let k = 0; k < 10; k++) {
    onStatus(`Loading Fashion-MNIST class ${k + 1} of 10...`);
    classes.push(parseFashionClassJson(await fetchBytes(`fashion/${k}.json`), `fashion/${k}.json`));
  }
  return fashionSplit(
    classes,
    Array.from({ length: 10 }, (_, k) => `fashion/${k}.json`),
  );
}

const cache = new Map<DatasetName, Promise<DatasetSplit>>();

/** The dataset's train and test splits, fetched once per page. */
export function loadDataset(
  name: DatasetName,
  onStatus: (text: string) => void,
): Promise<DatasetSplit> {
  let split = cache.get(name);
  if (!split) {
    onStatus(name === 'mnist' ? 'Loading MNIST...' : 'Loading Fashion-MNIST...');
    split = name === 'mnist' ? loadMnist() : loadFashion(onStatus);
    split.catch(() => cache.delete(name));
    cache.set(name, split);
  }
  return split;
}

/** Pixels per image (rows * cols). */
export function pixelsOf(ds: Dataset): number {
  return ds.rows * ds.cols;
}

/** Image `index` of `ds` as floats in [0, 1]. */
export function imageOf(ds: Dataset, index: number): Float32Array {
  const P = pixelsOf(ds);
  return Float32Array.from(ds.images.subarray(index * P, (index + 1) * P), (v) => v / 255);
}
