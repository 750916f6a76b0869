/**
 * Params packing (src/gpu/uniforms.ts): one little-endian 4-byte slot per field in declaration
 * order, padded to 16 bytes, and a refusal naming the struct and field for a value its type cannot
 * hold. That each kernel's layout matches its WGSL struct is checked in pipelines.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { defineParams, type ScalarType } from '../../src/gpu/uniforms';

describe('defineParams', () => {
  it('packs in field order and refuses values that do not fit', () => {
    const p = defineParams('Params', { count: 'u32', shift: 'i32', scale: 'f32' });
    const view = new DataView(p.pack({ count: 7, shift: -2, scale: 0.5 }));
    expect(view.byteLength).toBe(16);
    expect([view.getUint32(0, true), view.getInt32(4, true), view.getFloat32(8, true)]).toEqual([
      7, -2, 0.5,
    ]);
    expect(() => p.pack({ count: -1, shift: 0, scale: 0 })).toThrow(
      /Params.count: -1 does not fit in u32/,
    );
    expect(() => p.pack({ count: 1.5, shift: 0, scale: 0 })).toThrow(/must be a whole number/);
    expect(() => p.pack({ count: 1, shift: 0, scale: NaN })).toThrow(
      /Params.scale: NaN is not a finite number/,
    );
  });

  it('pads to whole 16-byte rows, as uniform bindings need', () => {
    const sizes = [0, 1, 4, 5, 8, 9].map((n) => {
      const fields: Record<string, ScalarType> = Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`f${i}`, 'u32']),
      );
      const values = Object.fromEntries(Object.keys(fields).map((k) => [k, 1]));
      return defineParams('Params', fields).pack(values).byteLength;
    });
    expect(sizes).toEqual([16, 16, 16, 32, 32, 48]);
  });

  it('writes little-endian, leaves the padding zero, and rounds f32 like Math.fround', () => {
    const p = defineParams('Params', { a: 'u32', b: 'f32' });
    const bytes = new Uint8Array(p.pack({ a: 0x01020304, b: 0.1 }));
    expect([...bytes.slice(0, 4)]).toEqual([4, 3, 2, 1]);
    expect(new DataView(bytes.buffer).getFloat32(4, true)).toBe(Math.fround(0.1));
    expect([...bytes.slice(8)]).toEqual(new Array<number>(8).fill(0));
  });

  it('accepts the ends of the u32 and i32 ranges and refuses one past them', () => {
    const p = defineParams('PoolParams', { u: 'u32', i: 'i32' });
    const view = new DataView(p.pack({ u: 0xffffffff, i: -0x80000000 }));
    expect([view.getUint32(0, true), view.getInt32(4, true)]).toEqual([0xffffffff, -0x80000000]);
    expect(new DataView(p.pack({ u: 0, i: 0x7fffffff })).getInt32(4, true)).toBe(0x7fffffff);
    expect(() => p.pack({ u: 2 ** 32, i: 0 })).toThrow(
      /^PoolParams.u: 4294967296 does not fit in u32$/,
    );
    expect(() => p.pack({ u: 0, i: 2 ** 31 })).toThrow(
      /^PoolParams.i: 2147483648 does not fit in i32$/,
    );
    expect(() => p.pack({ u: 0, i: -(2 ** 31) - 1 })).toThrow(/does not fit in i32/);
  });

  it('refuses a missing field or an infinity as ShadergradError, naming it', () => {
    const p = defineParams('Params', { count: 'u32', scale: 'f32' });
    const missing = { count: 3 } as unknown as { count: number; scale: number };
    expect(() => p.pack(missing)).toThrow(ShadergradError);
    expect(() => p.pack(missing)).toThrow(/^Params.scale: undefined is not a finite number$/);
    expect(() => p.pack({ count: 3, scale: Infinity })).toThrow(/Params.scale: Infinity is not/);
  });

  it('keeps the struct name and fields it was given', () => {
    const p = defineParams('Params', { z: 'f32', a: 'u32' });
    expect(p.structName).toBe('Params');
    expect(Object.entries(p.fields)).toEqual([
      ['z', 'f32'],
      ['a', 'u32'],
    ]);
  });
});
