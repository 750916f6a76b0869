/**
 * A minimal PNG writer (8-bit grayscale) and the first-layer filter grid. Pure TypeScript: the
 * image data goes into stored (uncompressed) deflate blocks, which every PNG reader accepts, so
 * no compression library is needed in Node or the browser.
 */
import { ShadergradError } from '../base/errors';

const crcTable = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const v of bytes) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** zlib stream of stored blocks (at most 65535 bytes each). */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let i = 0; i < blocks; i++) {
    const chunk = data.subarray(i * 65535, (i + 1) * 65535);
    out[o] = i === blocks - 1 ? 1 : 0;
    view.setUint16(o + 1, chunk.length, true);
    view.setUint16(o + 3, ~chunk.length & 0xffff, true);
    out.set(chunk, o + 5);
    o += 5 + chunk.length;
  }
  view.setUint32(o, adler32(data));
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes a width x height 8-bit grayscale image (row-major pixels) as PNG bytes. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height || width < 1 || height < 1)
    throw new ShadergradError(`png: ${pixels.length} pixels for ${width}x${height}`);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit depth, grayscale, deflate, adaptive filter, no interlace
  const raw = new Uint8Array(height * (width + 1)); // filter byte 0 (none) before each row
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', header),
    chunk('IDAT', zlibStored(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Conv filters [O, C, KH, KW] as a grid of gray tiles (input channel 0, each filter scaled to its
 * own min..max, `scale` pixels per weight, 1-pixel gaps), as drawn in the course.
 */
export function filterGrid(
  weights: Float32Array,
  shape: readonly number[],
  scale = 8,
): { pixels: Uint8Array; width: number; height: number } {
  const [O = 0, C = 0, KH = 0, KW = 0] = shape;
  if (shape.length !== 4 || weights.length !== O * C * KH * KW)
    throw new ShadergradError(
      `filter grid: expects [O, C, KH, KW] weights, got [${shape.join(', ')}]`,
    );
  const cols = Math.ceil(Math.sqrt(O));
  const rows = Math.ceil(O / cols);
  const tileW = KW * scale;
  const tileH = KH * scale;
  const width = cols * (tileW + 1) + 1;
  const height = rows * (tileH + 1) + 1;
  const pixels = new Uint8Array(width * height).fill(255);
  for (let o = 0; o < O; o++) {
    const base = o * C * KH * KW;
    const filter = weights.subarray(base, base + KH * KW);
    const lo = Math.min(...filter);
    const range = Math.max(...filter) - lo || 1;
    const x0 = (o % cols) * (tileW + 1) + 1;
    const y0 = Math.floor(o / cols) * (tileH + 1) + 1;
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const v = filter[Math.floor(y / scale) * KW + Math.floor(x / scale)] ?? lo;
        pixels[(y0 + y) * width + x0 + x] = Math.round((255 * (v - lo)) / range);
      }
    }
  }
  return { pixels, width, height };
}
