/**
 * shadergrad's one seeded generator, so weight init, shuffles, toy datasets, tests and benchmarks
 * all draw the same numbers for the same seed. Imports nothing.
 */

/** mulberry32: small, fast, seeded; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform floats in [lo, hi) from mulberry32(seed). */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/** n integers in [0, max) from mulberry32(seed). */
export function randomInts(n: number, seed: number, max: number): Int32Array {
  const random = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * max);
  return out;
}
