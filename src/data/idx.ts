/**
 * IDX files (the MNIST container), pure TypeScript for Node and the browser.
 *
 * Layout (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"): two zero bytes, a dtype byte
 * (0x08 = u8, the only one supported here), an ndim byte, ndim big-endian u32 dims, then the
 * data, row-major. Every size is checked against the bytes actually present BEFORE anything is
 * allocated, so a file that declares 2^31 images fails at once instead of allocating.
 * gzip: `isGzip` detects the 1f 8b magic; Node decompresses with zlib (datasetsNode.ts), the
 * browser with `gunzipStream` (DecompressionStream), both with an output cap against zip bombs.
 */
import { ShadergradError } from '../base/errors';

/** A parsed IDX file: its dims and its data (a copy, dims.reduce(*) bytes). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Largest decompressed file we accept (MNIST's train images are 45 MiB). */
export const maxDecompressedBytes = 512 * 2 ** 20;

const otherDtypes: Record<number, string> = {
  0x09: 'i8',
  0x0b: 'i16',
  0x0c: 'i32',
  0x0d: 'f32',
  0x0e: 'f64',
};

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** What an IDX header declares: dims, header length and data length in bytes. */
export interface IdxHeader {
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

/** The longest IDX header (4 dims): enough leading bytes for `parseIdxHeader`. */
export const maxIdxHeaderBytes = 20;

/** Parses an uncompressed u8 IDX file; `name` (the file name) starts every error message. */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  const header = parseIdxHeader(bytes, name);
  checkIdxLength(header, bytes.length, name);
  // A copy via the constructor: Buffer.slice would return a view, not a copy.
  return { dims: header.dims, data: new Uint8Array(bytes.subarray(header.headerBytes)) };
}

/**
 * Parses the header at the start of `bytes` (the whole file or at least its first
 * maxIdxHeaderBytes), so a reader can cap what it reads by what the header declares.
 */
export function parseIdxHeader(bytes: Uint8Array, name: string): IdxHeader {
  const fail = (problem: string): never => {
    throw new ShadergradError(`${name}: ${problem}`);
  };
  if (isGzip(bytes)) fail('is gzip-compressed; decompress it first (or load it from Node)');
  if (bytes.length < 4) fail(`holds ${bytes.length} bytes, too short for an IDX header (4+)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`bad IDX magic ${hex(bytes[0])} ${hex(bytes[1])} (expected 00 00); not an IDX file`);
  }
  const dtype = bytes[2] ?? 0;
  if (dtype !== 0x08) {
    const known = otherDtypes[dtype];
    fail(
      known === undefined
        ? `unknown IDX dtype ${hex(dtype)}`
        : `IDX dtype ${hex(dtype)} (${known}) is not supported; only 0x08 (u8)`,
    );
  }
  const ndim = bytes[3] ?? 0;
  if (ndim < 1 || ndim > 4) fail(`declares ${ndim} dims; only 1 to 4 are supported`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    fail(
      `truncated header: ${ndim} dims need ${headerBytes} bytes, the file holds ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  if (dims.some((n) => n === 0)) fail(`dim of size 0 in ${dims.join('x')}`);
  // At most 4 factors below 2^32: the product is exact up to 2^53 and, beyond, still far above
  // any real length, so comparisons with it are sound without BigInt.
  return { dims, headerBytes, dataBytes: dims.reduce((a, b) => a * b, 1) };
}

/** Throws unless a file of `fileBytes` bytes holds exactly what `header` declares. */
export function checkIdxLength(header: IdxHeader, fileBytes: number, name: string): void {
  const want = header.dataBytes;
  const have = fileBytes - header.headerBytes;
  if (want === have) return;
  const what = have < want ? 'truncated' : `${have - want} trailing bytes`;
  throw new ShadergradError(
    `${name}: declares ${header.dims.join('x')} (${want} data bytes) but holds ${have} (${what})`,
  );
}

/** Encodes a u8 IDX file (the inverse of `parseIdx`; used for tests and exports). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const badDim = dims.some((n) => !Number.isInteger(n) || n < 1 || n > 0xffffffff);
  if (dims.length < 1 || dims.length > 4 || badDim || count !== data.length) {
    throw new ShadergradError(
      `encodeIdx: dims [${dims.join(', ')}] (1 to 4 positive u32) must match ${data.length} bytes`,
    );
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((n, d) => view.setUint32(4 + 4 * d, n, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/**
 * Gunzips with the web-standard DecompressionStream (browsers, Node 18+), stopping as soon as
 * the output passes `maxBytes`. Corrupt input or a zip bomb throws a ShadergradError naming `name`.
 */
export async function gunzipStream(
  bytes: Uint8Array,
  name: string,
  maxBytes = maxDecompressedBytes,
): Promise<Uint8Array> {
  // A copy backed by a plain ArrayBuffer, which BlobPart requires.
  const stream = new Blob([new Uint8Array(bytes)])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw new ShadergradError(`${name}: decompresses to more than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ShadergradError) throw e;
    throw new ShadergradError(`${name}: corrupt gzip data (${String(e)})`, { cause: e });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function hex(b: number | undefined): string {
  return `0x${(b ?? 0).toString(16).padStart(2, '0')}`;
}
