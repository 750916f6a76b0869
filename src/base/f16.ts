/**
 * IEEE 754 binary16 ("half", WGSL's f16) on the host: float32 values to f16 bit patterns and
 * back, rounding to nearest with ties to even as the GPU's f32 -> f16 conversion does (WGSL's
 * f16(x) rounds to nearest; ties to even is what every f16 store does in practice). Node 20 has no
 * Float16Array, so an f16 tensor's host data is a Uint16Array of bit patterns.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bit pattern nearest `x`: overflow to ±Infinity, NaN stays NaN, subnormals kept. */
export function f16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf, NaN
  // Unbiased exponent e; f16 normals have e in [-14, 15], subnormals reach down to 2^-24.
  const e = exponent - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) return sign | roundShift(((e + 15) << 23) | mantissa, 13);
  if (e < -25) return sign; // below half the smallest subnormal: zero
  // Subnormal: the implicit 1 joins the mantissa, shifted to units of 2^-24.
  return sign | roundShift(0x800000 | mantissa, -1 - e);
}

/**
 * `value >> shift`, rounded to nearest with ties to even. For normals, `value` holds the biased
 * exponent above the mantissa, so a carry out of the mantissa bumps the exponent (and past the
 * largest finite value gives 0x7c00, infinity), as it should.
 */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The value of an f16 bit pattern. */
export function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Each value as its nearest f16 bit pattern: the host data of an f16 tensor. */
export function toF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i] ?? 0);
  return out;
}

/** The values of f16 bit patterns, as float32 (every f16 is exact in float32). */
export function fromF16(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Value(bits[i] ?? 0);
  return out;
}

/** Each value rounded to the nearest f16, kept as float32: what an f16 store leaves of it. */
export function roundToF16(values: ArrayLike<number>): Float32Array {
  return fromF16(toF16(values));
}
