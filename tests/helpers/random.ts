/** Seeded random numbers, so every failing case can be rerun exactly. */
import { mulberry32 } from '../../src/engine/parameters';

/** mulberry32 (the engine's generator): uniform in [0, 1). */
export const rng = mulberry32;

/** n uniform floats in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n integers in [0, max). */
export function randomInts(n: number, seed: number, max: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * max);
  return out;
}
