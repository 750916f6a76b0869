import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fashionClassNames, fashionSplit, parseFashionClassJson } from '../../src/data/datasets';
import type { FashionClass } from '../../src/data/datasets';
import { fashionClassFile, loadFashionMnist } from '../../src/data/datasetsNode';
import { ShadergradError } from '../../src/base/errors';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const row = (v: number): string =>
  `[${Array.from({ length: 784 }, (_, i) => (i + v) % 256).join(',')}]`;
const zeros = `[${new Array<number>(784).fill(0).join(', ')}]`;

describe('parseFashionClassJson', () => {
  it('keeps valid rows in file order and lists blank (empty or all-zero) rows', () => {
    const json = ` {"data" : [ ${row(1)},[],\n${row(2)} , ${zeros},${row(3)}] }\n`;
    const c = parseFashionClassJson(text(json), 'c.json', 5);
    expect(c.rows).toBe(3);
    expect(c.dropped).toEqual([1, 3]);
    expect(c.images.length).toBe(3 * 784);
    expect([c.images[0], c.images[784], c.images[2 * 784 + 255], c.images[2 * 784 + 783]]).toEqual([
      1, 2, 2, 18,
    ]);
  });

  it.each([
    ['short row', `{"data":[[1,2,3]]}`, /row 0 has 3 values, expected 784/],
    ['long row', `{"data":[${row(0).slice(0, -1)},5]]}`, /row longer than 784/],
    ['value > 255', `{"data":[[256]]}`, /pixel value above 255/],
    ['negative value', `{"data":[[-1]]}`, /unexpected character '-'/],
    ['float value', `{"data":[[1.5]]}`, /unexpected character '\.'/],
    ['missing value', `{"data":[[1,,2]]}`, /missing value/],
    ['trailing comma', `{"data":[[1,2,]]}`, /missing value/],
    ['two values without comma', `{"data":[[1 2]]}`, /expected , or \]/],
    ['wrong key', `{"rows":[[1]]}`, /expected '"data"'/],
    ['unterminated', `{"data":[[1,2`, /unterminated row/],
    ['missing close', `{"data":[[]`, /expected '\]'/],
    ['trailing content', `{"data":[[]]} x`, /trailing content/],
    ['too many rows', `{"data":[${row(1)},${row(2)},${row(3)}]}`, /more than 2 image rows/],
    ['empty file', ``, /expected '\{'/],
  ])('%s: ShadergradError naming the file and offset', (_, json, message) => {
    const f = (): FashionClass => parseFashionClassJson(text(json), '7.json', 2);
    expect(f).toThrow(ShadergradError);
    expect(f).toThrow(message);
    expect(f).toThrow(/^7.json: .* at byte \d+$/);
  });

  it('fashionSplit names the class file that lacks rows', () => {
    const full: FashionClass = { images: new Uint8Array(7000 * 784), rows: 7000, dropped: [] };
    const short: FashionClass = { images: new Uint8Array(6999 * 784), rows: 6999, dropped: [] };
    const classes = Array.from({ length: 10 }, (_, k) => (k === 4 ? short : full));
    const files = classes.map((_, k) => `${k}.json`);
    expect(() => fashionSplit(classes, files)).toThrow(
      /^4.json: holds 6999 valid image rows, expected 7000/,
    );
  });
});

describe('Fashion-MNIST from the fashion-mnist package', () => {
  it('drops exactly rows 1000 and 7001 of class 0 and none elsewhere', () => {
    const c0 = parseFashionClassJson(readFileSync(fashionClassFile(0)), '0.json');
    expect(c0.dropped).toEqual([1000, 7001]);
    expect(c0.rows).toBe(7000);
    const c5 = parseFashionClassJson(readFileSync(fashionClassFile(5)), '5.json');
    expect(c5.dropped).toEqual([]);
  });

  it('loads 60000/10000 28x28 images, 6000/1000 per class, class-interleaved', async () => {
    const t0 = performance.now();
    const { train, test } = await loadFashionMnist();
    console.log(`loadFashionMnist: ${(performance.now() - t0).toFixed(0)} ms`);
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect([train.rows, train.cols, test.rows, test.cols]).toEqual([28, 28, 28, 28]);
    expect(train.classNames).toEqual(fashionClassNames);
    expect(fashionClassNames[9]).toBe('Ankle boot');
    for (const [ds, per] of [
      [train, 6000],
      [test, 1000],
    ] as const) {
      expect(ds.images.length).toBe(ds.count * 784);
      const counts = new Array<number>(10).fill(0);
      ds.labels.forEach((l, i) => {
        counts[l] = (counts[l] ?? 0) + 1;
        expect(l).toBe(i % 10);
      });
      expect(counts).toEqual(new Array<number>(10).fill(per));
      for (let i = 0; i < ds.count; i++) {
        const img = ds.images.subarray(i * 784, (i + 1) * 784);
        if (!img.some((v) => v !== 0)) throw new Error(`${ds.name}: image ${i} is all zero`);
      }
    }
    // Train image 10*i + k is valid row i of class k (file order); test starts at row 6000.
    // Class 1 has no blank rows, so its file rows map one to one.
    const c1 = parseFashionClassJson(readFileSync(fashionClassFile(1)), '1.json');
    expect(train.images.subarray(11 * 784, 12 * 784)).toEqual(c1.images.subarray(784, 2 * 784));
    expect(test.images.subarray(1 * 784, 2 * 784)).toEqual(
      c1.images.subarray(6000 * 784, 6001 * 784),
    );
  });
});
