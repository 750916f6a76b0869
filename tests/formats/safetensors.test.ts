import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStateDict, readSafetensors, writeSafetensors } from '../../src/formats/safetensors';
import type { SafetensorsTensor } from '../../src/formats/safetensors';
import { readSafetensorsFile } from '../../src/formats/safetensorsNode';
import { loadMnist } from '../../src/data/datasetsNode';
import { ShadergradError } from '../../src/base/errors';
import { randomFloats, mulberry32 } from '../../src/base/random';

const golden = join(process.cwd(), '../shared/golden/golden_pad2_c4_8_h32.safetensors');

const sample: Record<string, SafetensorsTensor> = {
  'b.f32': { dtype: 'F32', shape: [2, 3], data: randomFloats(6, 1) },
  'a.u8': { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  'c.i64': { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 63n - 1n]) },
  'd.i32': { dtype: 'I32', shape: [1, 2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
  scalar: { dtype: 'F32', shape: [], data: new Float32Array([Math.PI]) },
  empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
};

/** A file assembled by hand from a header object and a data section. */
function handFile(header: unknown, data: Uint8Array, headerText?: Uint8Array): Uint8Array {
  const json = headerText ?? new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function headerOf(bytes: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(bytes.subarray(8, 8 + n)) };
}

describe('writeSafetensors / readSafetensors', () => {
  it('reads a file with no tensors (an SGD optimizer state), as the reference reader does', () => {
    // Changed on purpose: such files were refused ("lists no tensors"), so SGD runs could not resume.
    const file = readSafetensors(writeSafetensors({}, { optimizer: 'sgd' }), 'o.safetensors');
    expect(file).toEqual({ tensors: {}, metadata: { optimizer: 'sgd' } });
    expect(() => readSafetensors(handFile({}, new Uint8Array(8)), 'o')).toThrow(
      /8 data bytes after/,
    );
  });

  it('accepts equal keys in different objects, and strings holding quotes and braces', () => {
    const bytes = writeSafetensors(
      { 'a"{,}': { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      { 'a"{,}': 'x', shape: '}"' },
    );
    expect(Object.keys(readSafetensors(bytes, 'f').tensors)).toEqual(['a"{,}']);
  });

  it('round-trips every dtype, scalars, empty tensors and metadata', () => {
    const bytes = writeSafetensors(sample, { step: '3', format: 'pt' });
    const back = readSafetensors(bytes, 'round.safetensors');
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [name, t] of Object.entries(sample)) {
      const got = back.tensors[name];
      expect(got?.dtype, name).toBe(t.dtype);
      expect(got?.shape, name).toEqual(t.shape);
      expect(got?.data, name).toEqual(t.data);
    }
    expect(back.metadata).toEqual({ step: '3', format: 'pt' });
  });

  it('is deterministic, space-padded to 8 bytes, names sorted, every tensor aligned', () => {
    const bytes = writeSafetensors(sample, { z: '1', a: '2' });
    const reversed = Object.fromEntries(Object.entries(sample).reverse());
    expect(writeSafetensors(reversed, { a: '2', z: '1' })).toEqual(bytes);
    const { n, text } = headerOf(bytes);
    expect(n % 8).toBe(0);
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual([
      '__metadata__',
      'a.u8',
      'b.f32',
      'c.i64',
      'd.i32',
      'empty',
      'scalar',
    ]);
    const size: Record<string, number> = { F32: 4, I64: 8, I32: 4, U8: 1 };
    for (const [name, e] of Object.entries(header)) {
      if (name !== '__metadata__')
        expect((e.data_offsets[0] ?? 1) % (size[e.dtype] ?? 8) === 0, name).toBe(true);
    }
  });

  it('returns aligned copies even from an unaligned view of the file', () => {
    const bytes = writeSafetensors(sample);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const back = readSafetensors(shifted.subarray(3), 'shifted');
    expect(back.tensors['b.f32']?.data).toEqual(sample['b.f32']?.data);
    shifted.fill(0);
    expect(back.tensors['a.u8']?.data).toEqual(new Uint8Array([0, 128, 255])); // a copy
  });

  it('rejects malformed tensors on write', () => {
    const w = (t: SafetensorsTensor): Uint8Array => writeSafetensors({ x: t });
    expect(() => w({ dtype: 'F32', shape: [2, 2], data: new Float32Array(3) })).toThrow(
      /"x": shape \[2, 2\] holds 4/,
    );
    const wrongType = {
      dtype: 'I32',
      shape: [1],
      data: new Float32Array(1),
    } as unknown as SafetensorsTensor;
    expect(() => w(wrongType)).toThrow(/dtype I32 does not match a Float32Array/);
    expect(() => w({ dtype: 'U8', shape: [-1], data: new Uint8Array(0) })).toThrow(ShadergradError);
  });
});

describe('the PyTorch golden file', () => {
  it('reads with the documented names, shapes, dtypes and labels, and its input is MNIST/255', async () => {
    const { tensors, metadata } = await readSafetensorsFile(golden);
    expect(metadata.format).toBe('pt');
    expect(tensors.labels).toEqual({
      dtype: 'I64',
      shape: [8],
      data: new BigInt64Array([5n, 0n, 4n, 1n, 9n, 2n, 1n, 3n]),
    });
    const input = tensors.input;
    expect(input?.dtype).toBe('F32');
    expect(input?.shape).toEqual([8, 1, 28, 28]);
    const { train } = await loadMnist();
    // PyTorch divides float32 pixels by 255 in float32: correctly rounded, so fround(p / 255)
    // reproduces it exactly (p < 256, the double quotient is never a float32 rounding tie).
    const want = Float32Array.from(train.images.subarray(0, 8 * 784), (p) => p / 255);
    expect(input?.data).toEqual(want);
    const model = {
      'conv1.weight': [4, 1, 5, 5],
      'conv1.bias': [4],
      'conv2.weight': [8, 4, 5, 5],
      'conv2.bias': [8],
      'fc1.weight': [32, 392],
      'fc1.bias': [32],
      'fc2.weight': [10, 32],
      'fc2.bias': [10],
    };
    const params = Object.fromEntries(
      Object.keys(model).map((k) => [k, tensors[k] as SafetensorsTensor]),
    );
    expect(() => checkStateDict(params, model, golden)).not.toThrow();
    // Re-writing the golden tensors and reading them back preserves every one exactly.
    const again = readSafetensors(writeSafetensors(tensors, metadata), 'rewritten');
    expect(again.tensors).toEqual(tensors);
  });
});

describe('readSafetensors rejects malformed files, naming the file', () => {
  const f32 = (shape: number[], offsets: number[]): unknown => ({
    dtype: 'F32',
    shape,
    data_offsets: offsets,
  });
  const data8 = new Uint8Array(8);
  const hugeLen = new Uint8Array(16);
  new DataView(hugeLen.buffer).setBigUint64(0, 2n ** 60n, true);
  const pastEnd = new Uint8Array(16);
  pastEnd[0] = 100;
  it.each([
    ['shorter than 8 bytes', new Uint8Array(5), /holds 5 bytes, shorter than/],
    [
      'header length past the file',
      pastEnd,
      /header length 100 runs past the end of the file \(16 bytes\)/,
    ],
    ['header over 100 MB', hugeLen, /over the 100000000-byte limit/],
    ['invalid JSON', handFile(null, data8, text('{"a": [1,')), /not valid UTF-8 JSON/],
    [
      'invalid UTF-8',
      handFile(null, data8, new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
      /not valid UTF-8/,
    ],
    ['header not an object', handFile([1, 2], data8), /not a JSON object/],
    [
      'the same tensor twice',
      handFile(
        null,
        data8,
        text(
          '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        ),
      ),
      /: header names "x" twice$/,
    ],
    [
      'the same tensor twice, one name escaped',
      handFile(
        null,
        data8,
        text(
          '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\\u0078":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        ),
      ),
      /: header names "x" twice$/,
    ],
    [
      'a metadata key twice',
      handFile(
        null,
        data8,
        text(
          '{"__metadata__":{"step":"1","step":"2"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        ),
      ),
      /: header names "step" twice in __metadata__$/,
    ],
    [
      'a field of an entry twice',
      handFile(
        null,
        data8,
        text('{"x":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}'),
      ),
      /: header names "shape" twice in x$/,
    ],
    ['entry not an object', handFile({ x: 3 }, data8), /"x": entry is not an object/],
    [
      'unknown dtype',
      handFile({ x: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, data8),
      /"x": unknown dtype "Q7"/,
    ],
    [
      'unsupported dtype',
      handFile({ x: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, data8),
      /unsupported dtype "F16"/,
    ],
    ['bad shape', handFile({ x: f32([2.5], [0, 8]) }, data8), /shape \[2.5\] is not a list/],
    [
      'bad offsets',
      handFile({ x: f32([2], [0]) }, data8),
      /data_offsets \[0\] is not \[begin, end\]/,
    ],
    [
      'size mismatch',
      handFile({ x: f32([3], [0, 8]) }, data8),
      /"x": shape \[3\] of F32 needs 12 bytes, data_offsets span 8/,
    ],
    [
      'huge shape',
      handFile({ x: f32([2 ** 31, 2 ** 31, 2 ** 31], [0, 8]) }, data8),
      /needs .* bytes, data_offsets span 8/,
    ],
    [
      'offsets past data',
      handFile({ x: f32([2], [8, 16]) }, data8),
      /data_offsets \[8, 16\] out of the data range \(8 bytes\)/,
    ],
    ['begin > end', handFile({ x: f32([0], [8, 0]) }, data8), /out of the data range/],
    ['overlap', handFile({ x: f32([2], [0, 8]), y: f32([1], [4, 8]) }, data8), /"y" overlaps "x"/],
    [
      'gap',
      handFile({ x: f32([1], [4, 8]) }, data8),
      /gap of 4 unused data bytes before tensor "x"/,
    ],
    [
      'uncovered tail',
      handFile({ x: f32([1], [0, 4]) }, data8),
      /4 data bytes after the last tensor/,
    ],
    [
      'bad metadata',
      handFile({ __metadata__: { a: 1 }, x: f32([2], [0, 8]) }, data8),
      /__metadata__ "a" is not a string/,
    ],
  ])('%s', (_, bytes, message) => {
    const f = (): unknown => readSafetensors(bytes, 'bad.safetensors');
    expect(f).toThrow(ShadergradError);
    expect(f).toThrow(message);
    expect(f).toThrow(/^bad.safetensors: /);
  });
});

describe('checkStateDict', () => {
  const loaded: Record<string, SafetensorsTensor> = {
    w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
    b: { dtype: 'I32', shape: [3], data: new Int32Array(3) },
    extra: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
  };
  it('accepts an exact match', () => {
    expect(() =>
      checkStateDict({ w: loaded.w as SafetensorsTensor }, { w: [2, 3] }, 'ok.st'),
    ).not.toThrow();
  });
  it('lists missing, extra, wrong dtype and wrong shape, each by name', () => {
    const f = (): void =>
      checkStateDict(loaded, { w: [3, 2], b: [3], gone: [4] }, 'model.safetensors');
    expect(f).toThrow(ShadergradError);
    expect(f).toThrow(/^model.safetensors: checkpoint does not match/);
    expect(f).toThrow(/tensor "w" has shape \[2, 3\], expected \[3, 2\]/);
    expect(f).toThrow(/tensor "b" has dtype I32, expected F32/);
    expect(f).toThrow(/missing tensor "gone" \[4\]/);
    expect(f).toThrow(/extra tensor "extra"/);
  });
});

describe('safetensors fuzz', () => {
  // 3000 seeded cases: random bytes (some with a plausible header length), bit flips (half of
  // them inside the JSON header), digit swaps in the header, truncations and extensions of a
  // valid file. Each must parse into consistent tensors or throw a ShadergradError.
  it('every input parses or throws ShadergradError', () => {
    const r = mulberry32(777);
    const int = (n: number): number => Math.floor(r() * n);
    const valid = writeSafetensors(sample, { k: 'v' });
    const headerEnd = 8 + headerOf(valid).n;
    let parsed = 0;
    for (let c = 0; c < 3000; c++) {
      let bytes = valid.slice();
      const kind = c % 5;
      if (kind === 0) {
        bytes = Uint8Array.from({ length: int(64) }, () => int(256));
        if (c % 10 === 0 && bytes.length >= 8) bytes.set([int(60), 0, 0, 0, 0, 0, 0, 0]);
      } else if (kind === 1) {
        for (let k = 1 + int(3); k > 0; k--) {
          const i = c % 2 === 0 ? int(headerEnd) : int(bytes.length);
          bytes[i] = (bytes[i] ?? 0) ^ (1 << int(8));
        }
      } else if (kind === 2) {
        const digits = [...bytes.subarray(8, headerEnd).keys()].filter((i) =>
          /[0-9]/.test(String.fromCharCode(bytes[8 + i] ?? 0)),
        );
        const i = 8 + (digits[int(digits.length)] ?? 0);
        bytes[i] = 0x30 + int(10);
      } else if (kind === 3) {
        bytes = valid.slice(0, int(valid.length + 1));
      } else {
        bytes = new Uint8Array([...valid, ...Array.from({ length: 1 + int(16) }, () => int(256))]);
      }
      try {
        const { tensors } = readSafetensors(bytes, `case${c}`);
        for (const t of Object.values(tensors))
          expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        parsed++;
      } catch (e) {
        if (!(e instanceof ShadergradError))
          throw new Error(`case ${c}: ${String(e)}`, { cause: e });
        expect(e.message.startsWith(`case${c}: `)).toBe(true);
      }
    }
    expect(parsed).toBeGreaterThan(100); // data-section flips and no-op digit swaps still parse
  });
});
