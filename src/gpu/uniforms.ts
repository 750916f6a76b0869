/**
 * Uniform `Params` packing. Every kernel's Params struct holds only u32/i32/f32 scalars, so its
 * layout is one 4-byte slot per field in declaration order; `defineParams` records that order
 * once, and a test checks it against wgsl_reflect's offsets for every entry point.
 */
import { ShadergradError } from '../base/errors';

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface ParamsLayout<F extends Record<string, ScalarType>> {
  /** The WGSL struct name (always `Params` by convention, kept for error messages). */
  readonly structName: string;
  readonly fields: F;
  /** Packs values in field order; the buffer is padded to 16 bytes for uniform binding. */
  pack(values: { readonly [K in keyof F]: number }): ArrayBuffer;
}

export function defineParams<const F extends Record<string, ScalarType>>(
  structName: string,
  fields: F,
): ParamsLayout<F> {
  const entries = Object.entries(fields);
  return {
    structName,
    fields,
    pack(values) {
      const buffer = new ArrayBuffer(Math.max(16, Math.ceil((entries.length * 4) / 16) * 16));
      const view = new DataView(buffer);
      entries.forEach(([name, type], i) => {
        const v = (values as Record<string, number>)[name];
        if (v === undefined || !Number.isFinite(v))
          throw new ShadergradError(`${structName}.${name}: ${String(v)} is not a finite number`);
        writeScalar(view, i * 4, type, v, `${structName}.${name}`);
      });
      return buffer;
    },
  };
}

function writeScalar(
  view: DataView,
  offset: number,
  type: ScalarType,
  v: number,
  name: string,
): void {
  if (type === 'f32') {
    view.setFloat32(offset, v, true);
    return;
  }
  if (!Number.isInteger(v)) throw new ShadergradError(`${name}: ${v} must be a whole number`);
  if (type === 'u32') {
    if (v < 0 || v > 0xffffffff) throw new ShadergradError(`${name}: ${v} does not fit in u32`);
    view.setUint32(offset, v, true);
  } else {
    if (v < -0x80000000 || v > 0x7fffffff)
      throw new ShadergradError(`${name}: ${v} does not fit in i32`);
    view.setInt32(offset, v, true);
  }
}
