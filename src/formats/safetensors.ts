/**
 * safetensors checkpoints (https://huggingface.co/docs/safetensors), pure TypeScript for Node
 * and the browser: read, write and check against the model's expected names and shapes.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then
 * the data section; offsets are relative to its start, tensors little-endian and row-major.
 * The reader checks everything the format requires (sizes, dtypes, offsets in range, data
 * section covered exactly once, no gap, no overlap) before copying any tensor out, so a bad file
 * fails with a ShadergradError naming the file and never allocates more than its own size.
 * The writer is deterministic: header keys in sorted order, header padded with spaces to a
 * multiple of 8 bytes (as the reference writer does) so the data starts 8-aligned, and data laid
 * out by element size (largest first) then name, so every tensor is aligned to its element size.
 */
import { ShadergradError } from '../base/errors';
import { findDuplicateKey } from './jsonDuplicates';

export type SafetensorsDtype = 'F32' | 'I64' | 'I32' | 'U8';
export type SafetensorsTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array };
export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Largest header accepted, as in the reference implementation. */
export const maxHeaderBytes = 100_000_000;

const elementBytes: Record<SafetensorsDtype, number> = { F32: 4, I64: 8, I32: 4, U8: 1 };
const otherDtypes = [
  'BOOL',
  'I8',
  'I16',
  'U16',
  'U32',
  'U64',
  'F16',
  'BF16',
  'F64',
  'F8_E4M3',
  'F8_E5M2',
];
const metadataKey = '__metadata__';

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(elementBytes, s);
}

/** Typed arrays view memory in host byte order; safetensors is little-endian. */
function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new ShadergradError('safetensors: big-endian hosts are not supported');
  }
}

// ---- writing

/** Serialises tensors (and optional string metadata) to safetensors bytes. */
export function writeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  assertLittleEndianHost();
  const names = Object.keys(tensors).sort();
  const entries = names.map((name) => ({ name, t: checkedTensor(name, tensors[name]) }));
  const layout = [...entries].sort(
    (a, b) => elementBytes[b.t.dtype] - elementBytes[a.t.dtype] || (a.name < b.name ? -1 : 1),
  );
  const offsets = new Map<string, [number, number]>();
  let dataBytes = 0;
  for (const { name, t } of layout) {
    offsets.set(name, [dataBytes, dataBytes + t.data.byteLength]);
    dataBytes += t.data.byteLength;
  }
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    for (const k of keys) {
      if (typeof metadata[k] !== 'string')
        throw new ShadergradError(`safetensors metadata "${k}" is not a string`);
    }
    parts.push(
      `${JSON.stringify(metadataKey)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`,
    );
  }
  for (const { name, t } of entries) {
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: offsets.get(name) };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes); // space padding, still valid JSON
  for (const { name, t } of layout) {
    const [begin] = offsets.get(name) ?? [0];
    out.set(
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      8 + headerBytes + begin,
    );
  }
  return out;
}

function checkedTensor(name: string, t: SafetensorsTensor | undefined): SafetensorsTensor {
  const fail = (problem: string): never => {
    throw new ShadergradError(`safetensors tensor "${name}": ${problem}`);
  };
  if (name === '' || name === metadataKey) fail('reserved or empty name');
  if (t === undefined || !isDtype(t.dtype)) return fail(`unsupported dtype`);
  const arrayTypes = { F32: Float32Array, I64: BigInt64Array, I32: Int32Array, U8: Uint8Array };
  if (!(t.data instanceof arrayTypes[t.dtype]))
    fail(`dtype ${t.dtype} does not match a ${t.data.constructor.name}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(`bad shape [${t.shape.join(', ')}]`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    fail(`shape [${t.shape.join(', ')}] holds ${count} elements, data ${t.data.length}`);
  return t;
}

// ---- reading

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and validates safetensors bytes; `name` (the file) starts every error message. */
export function readSafetensors(bytes: Uint8Array, name: string): SafetensorsFile {
  assertLittleEndianHost();
  const fail = (problem: string): never => {
    throw new ShadergradError(`${name}: ${problem}`);
  };
  const { header, dataStart } = readHeader(bytes, fail);
  const dataBytes = bytes.length - dataStart;
  const entries = Object.entries(header)
    .filter(([key]) => key !== metadataKey)
    .map(([key, value]) => parseEntry(key, value, dataBytes, fail));
  // No tensors is a valid file (the reference reader accepts it): SGD without momentum has no
  // optimizer state, and its optimizer.safetensors must read back for --resume.
  checkCoverage(entries, dataBytes, fail);
  const tensors = entries.map((e): [string, SafetensorsTensor] => {
    // A fresh buffer, so aligned (the constructor copies; Buffer.slice would not).
    const copy = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end)).buffer;
    return [e.name, typedTensor(e.dtype, e.shape, copy)];
  });
  return {
    tensors: Object.fromEntries(tensors),
    metadata: parseMetadata(header[metadataKey], fail),
  };
}

/**
 * The length a safetensors file declares (8 + header + the end of its last tensor), from its
 * first bytes (at least 8 + the header length), so a reader can cap what it reads.
 */
export function declaredSafetensorsBytes(prefix: Uint8Array, name: string): number {
  const { header, dataStart } = readHeader(prefix, (problem: string): never => {
    throw new ShadergradError(`${name}: ${problem}`);
  });
  let end = 0;
  for (const [key, value] of Object.entries(header)) {
    const offsets = (value as { data_offsets?: unknown } | null)?.data_offsets;
    const last = Array.isArray(offsets) ? (offsets[1] as unknown) : undefined;
    // Malformed entries are readSafetensors' to name; here they only must not shrink the cap.
    if (key !== metadataKey && typeof last === 'number' && last > end) end = last;
  }
  return dataStart + end;
}

/** The 8-byte length and the JSON header it announces. */
function readHeader(
  bytes: Uint8Array,
  fail: (problem: string) => never,
): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) fail(`holds ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBig = view.getBigUint64(0, true);
  if (headerBig > BigInt(maxHeaderBytes))
    fail(`header length ${headerBig} is over the ${maxHeaderBytes}-byte limit`);
  const headerBytes = Number(headerBig);
  if (8 + headerBytes > bytes.length)
    fail(`header length ${headerBytes} runs past the end of the file (${bytes.length} bytes)`);
  return {
    header: parseHeader(bytes.subarray(8, 8 + headerBytes), fail),
    dataStart: 8 + headerBytes,
  };
}

function parseHeader(raw: Uint8Array, fail: (problem: string) => never): Record<string, unknown> {
  let header: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${String(e)})`);
  }
  // JSON.parse keeps the last of two equal keys: a tensor named twice would load silently.
  const dup = findDuplicateKey(text);
  if (dup) fail(`header names "${dup.key}" twice${dup.path ? ` in ${dup.path}` : ''}`);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return fail('header is not a JSON object listing the tensors');
  }
  return header as Record<string, unknown>;
}

function parseEntry(
  key: string,
  value: unknown,
  dataBytes: number,
  fail: (problem: string) => never,
): Entry {
  const bad = (problem: string): never => fail(`tensor "${key}": ${problem}`);
  if (typeof value !== 'object' || value === null) return bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    const known = typeof dtype === 'string' && otherDtypes.includes(dtype);
    return bad(
      `${known ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)} (supported: F32, I64, I32, U8)`,
    );
  }
  const isCount = (d: unknown): d is number => Number.isSafeInteger(d) && (d as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount))
    return bad(`shape ${JSON.stringify(shape)} is not a list of sizes`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes)
    bad(`data_offsets [${begin}, ${end}] out of the data range (${dataBytes} bytes)`);
  // Past 2^53 the product is inexact but then far above any span, so the test stays sound.
  const want = shape.reduce((a: number, b: number) => a * b, 1) * elementBytes[dtype];
  if (want !== end - begin)
    bad(
      `shape [${shape.join(', ')}] of ${dtype} needs ${want} bytes, data_offsets span ${end - begin}`,
    );
  return { name: key, dtype, shape: [...shape], begin, end };
}

/** The data section must be covered exactly once: sorted spans must abut from 0 to the end. */
function checkCoverage(
  entries: Entry[],
  dataBytes: number,
  fail: (problem: string) => never,
): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous = '(start of data)';
  for (const e of sorted) {
    if (e.begin < at) fail(`tensor "${e.name}" overlaps "${previous}" (bytes ${e.begin}..${at})`);
    if (e.begin > at) fail(`gap of ${e.begin - at} unused data bytes before tensor "${e.name}"`);
    at = e.end;
    previous = e.name;
  }
  if (at !== dataBytes) fail(`${dataBytes - at} data bytes after the last tensor are not covered`);
}

function parseMetadata(value: unknown, fail: (problem: string) => never): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    return fail('__metadata__ is not an object');
  const entries = Object.entries(value as Record<string, unknown>);
  const badKey = entries.find(([, v]) => typeof v !== 'string');
  if (badKey) fail(`__metadata__ "${badKey[0]}" is not a string`);
  return Object.fromEntries(entries) as Record<string, string>;
}

function typedTensor(
  dtype: SafetensorsDtype,
  shape: number[],
  buffer: ArrayBuffer,
): SafetensorsTensor {
  switch (dtype) {
    case 'F32':
      return { dtype, shape, data: new Float32Array(buffer) };
    case 'I64':
      return { dtype, shape, data: new BigInt64Array(buffer) };
    case 'I32':
      return { dtype, shape, data: new Int32Array(buffer) };
    case 'U8':
      return { dtype, shape, data: new Uint8Array(buffer) };
    default:
      return dtype satisfies never;
  }
}

// ---- checking against a model

/**
 * Throws one ShadergradError listing every mismatch between a loaded checkpoint and the model's
 * expected tensors (name -> shape, all of `dtype`): missing, extra, wrong dtype, wrong shape.
 */
export function checkStateDict(
  loaded: Record<string, SafetensorsTensor>,
  expected: Record<string, number[]>,
  file: string,
  dtype: SafetensorsDtype = 'F32',
): void {
  const problems: string[] = [];
  const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
  for (const [name, shape] of Object.entries(expected)) {
    const t = Object.hasOwn(loaded, name) ? loaded[name] : undefined;
    if (t === undefined) problems.push(`missing tensor "${name}" ${fmt(shape)}`);
    else if (t.dtype !== dtype)
      problems.push(`tensor "${name}" has dtype ${t.dtype}, expected ${dtype}`);
    else if (fmt(t.shape) !== fmt(shape))
      problems.push(`tensor "${name}" has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
  }
  for (const name of Object.keys(loaded)) {
    if (!Object.hasOwn(expected, name))
      problems.push(`extra tensor "${name}" the model does not have`);
  }
  if (problems.length > 0) {
    throw new ShadergradError(
      `${file}: checkpoint does not match the model: ${problems.join('; ')}`,
    );
  }
}
