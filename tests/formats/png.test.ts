import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeGrayPng, filterGrid } from '../../src/formats/png';

/** Splits a PNG into chunks, checking the signature. */
function chunks(png: Uint8Array): Map<string, Uint8Array> {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset);
  const out = new Map<string, Uint8Array>();
  for (let o = 8; o < png.length;) {
    const len = view.getUint32(o);
    out.set(String.fromCharCode(...png.subarray(o + 4, o + 8)), png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  return out;
}

describe('encodeGrayPng', () => {
  it('writes pixels that zlib inflates back, row by row behind filter bytes', () => {
    const w = 300;
    const h = 250; // > 65535 bytes: several stored blocks
    const pixels = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 256);
    const c = chunks(encodeGrayPng(pixels, w, h));
    const ihdr = new DataView(
      (c.get('IHDR') ?? new Uint8Array(13)).buffer,
      c.get('IHDR')?.byteOffset,
    );
    expect([ihdr.getUint32(0), ihdr.getUint32(4)]).toEqual([w, h]);
    const raw = inflateSync(c.get('IDAT') ?? new Uint8Array());
    expect(raw.length).toBe(h * (w + 1));
    for (let y = 0; y < h; y++) {
      expect(raw[y * (w + 1)]).toBe(0);
      expect(
        Buffer.from(raw.subarray(y * (w + 1) + 1, (y + 1) * (w + 1))).equals(
          Buffer.from(pixels.subarray(y * w, (y + 1) * w)),
        ),
      ).toBe(true);
    }
    expect(c.has('IEND')).toBe(true);
  });

  it('refuses a pixel count that does not match the size', () => {
    expect(() => encodeGrayPng(new Uint8Array(5), 2, 2)).toThrow(/5 pixels for 2x2/);
  });
});

describe('filterGrid', () => {
  it('draws each filter scaled to its own range in a grid with gaps', () => {
    const w = Float32Array.from([0, 1, 2, 3, 10, 10, 10, 20]); // two 2x2 filters, one channel
    const g = filterGrid(w, [2, 1, 2, 2], 1);
    expect([g.width, g.height]).toEqual([2 * 3 + 1, 1 * 3 + 1]);
    const px = (x: number, y: number): number => g.pixels[y * g.width + x] ?? -1;
    expect([px(1, 1), px(2, 1), px(1, 2), px(2, 2)]).toEqual([0, 85, 170, 255]);
    expect([px(4, 1), px(5, 2)]).toEqual([0, 255]);
    expect(px(0, 0)).toBe(255);
  });
});
