/**
 * Central finite differences in float64 on a CPU twin: dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h,
 * with truncation error O(h^2 f''') and rounding error O(eps64 |L| / h); h = 1e-6 balances them to
 * ~1e-9 relative for the smooth, O(1)-sized losses used here.
 */
export function numericalGradient(loss: () => number, x: Float64Array, h = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i] ?? 0;
    x[i] = keep + h;
    const plus = loss();
    x[i] = keep - h;
    const minus = loss();
    x[i] = keep;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** sum_i w_i * y_i: a scalar "loss" whose gradient w.r.t. y is w, to test any backward rule. */
export function weightedSum(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] ?? 0) * (w[i] ?? 0);
  return s;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}
