/**
 * shadergrad's one numeric comparison, used by the tests, the benchmarks and the kernel explorer:
 * element i is close when |got[i] - want[i]| <= atol + rtol·|want[i]|. NaN is never close, so an
 * output a kernel never wrote (pre-filled with NaN) fails; an infinite want is matched only by
 * the same infinity. Also the tolerances of float32 dot products, each formula once. Imports
 * nothing.
 */

/** Allowed per element: atol + rtol·|want|. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** One element outside the tolerance. */
export interface Mismatch {
  index: number;
  got: number;
  want: number;
  /** |got - want| (NaN when either is NaN). */
  error: number;
}

/** What a comparison of two arrays found. */
export interface Closeness {
  /** Elements compared. */
  count: number;
  /** Elements outside the tolerance (NaN included); the longer length when the lengths differ. */
  mismatches: number;
  /** The first mismatches in index order, at most `keep` of them (none when lengths differ). */
  first: Mismatch[];
  /** Largest |got - want| over the elements where it is a number (NaN when lengths differ). */
  maxError: number;
  /** Largest |got - want| / |want| over the elements where want is not 0 (NaN likewise). */
  maxRelError: number;
  /** Set when the lengths differ: then nothing else was compared. */
  lengths?: { got: number; want: number };
}

/** The rule for one element (see the header). */
export function isClose(got: number, want: number, { atol, rtol }: Tolerance): boolean {
  // An infinite want would make rtol·|want| infinite and let anything pass: only itself is close.
  // NaN !== NaN, so a NaN want is never close either.
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= atol + rtol * Math.abs(want);
}

/** Every element of `got` against `want`: the counts, the first `keep` mismatches, the maxima. */
export function compareClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  keep = 8,
): Closeness {
  if (got.length !== want.length) {
    const lengths = { got: got.length, want: want.length };
    const mismatches = Math.max(got.length, want.length);
    return { count: 0, mismatches, first: [], maxError: NaN, maxRelError: NaN, lengths };
  }
  const first: Mismatch[] = [];
  let [mismatches, maxError, maxRelError] = [0, 0, 0];
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i] ?? NaN, want[i] ?? NaN];
    const error = Math.abs(g - w);
    if (!isClose(g, w, tol)) {
      mismatches++;
      if (first.length < keep) first.push({ index: i, got: g, want: w, error });
    }
    if (isNaN(error)) continue;
    maxError = Math.max(maxError, error);
    if (w !== 0) maxRelError = Math.max(maxRelError, error / Math.abs(w));
  }
  return { count: want.length, mismatches, first, maxError, maxRelError };
}

/** One mismatch in words: `[index] got g, expected w (|diff| e)`. */
export function describeMismatch({ index, got, want, error }: Mismatch): string {
  return `[${index}] got ${got}, expected ${want} (|diff| ${error.toExponential(2)})`;
}

/**
 * A failed comparison in words: how many elements differ, the tolerance, the worst error and the
 * first mismatches with their indices, one per line. Undefined when everything is close.
 */
export function describeCloseness(c: Closeness, { atol, rtol }: Tolerance): string | undefined {
  if (c.lengths) return `length ${c.lengths.got} != expected ${c.lengths.want}`;
  if (c.mismatches === 0) return undefined;
  const head = `${c.mismatches}/${c.count} elements differ beyond atol ${atol} + rtol ${rtol}·|ref|`;
  const lines = c.first.map(describeMismatch).join('\n  ');
  return `${head} (worst ${c.maxError}):\n  ${lines}`;
}

const EPS = 2 ** -23;

/**
 * Absolute tolerance for a float32 sum of K products of values in [-1, 1]: partial sums grow
 * like √K, each addition rounds by at most 2^-24 of its size, so the error stays below
 * K·√K·2^-24 with room to spare at 8x that. A wrong index gives errors of order 1.
 */
export function dotAtol(K: number): number {
  return 2 ** -21 * K * Math.sqrt(K);
}

/**
 * Tolerance for float32 results of dot products of length K, for any magnitudes: each of the K
 * rounding steps adds at most ~eps·sum|a_i b_i| of error, so atol scales with K and with the
 * magnitude of the terms (`sumAbsMax` = the largest sum|a_i b_i| over outputs). A factor of 4
 * covers reordering.
 */
export function dotTolerance(K: number, sumAbsMax: number): Tolerance {
  return { atol: 4 * EPS * Math.max(1, K) * Math.max(sumAbsMax, 1e-30) + 1e-30, rtol: 1e-5 };
}
