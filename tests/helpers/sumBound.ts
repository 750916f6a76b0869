/**
 * The error bound of a float32 sum taken in order (one invocation looping over its terms), for
 * tests comparing such a kernel with a float64 twin. Recursive summation of S terms satisfies
 * |computed - exact| <= gamma(S - 1) * sum|x_i|, gamma(k) = k·u / (1 - k·u), u = 2^-24
 * (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 4.4): each of the S - 1
 * additions rounds by at most u of a partial sum, and no partial sum exceeds sum|x_i|.
 */
const UNIT_ROUNDOFF_F32 = 2 ** -24;

/** gamma(S - 1) times the largest sum|x| over the rows of x, a row-major [rows, S] array. */
export function inOrderSumAtol(x: ArrayLike<number>, rows: number, S: number): number {
  let largestAbsSum = 0;
  for (let row = 0; row < rows; row++) {
    let absSum = 0;
    for (let s = 0; s < S; s++) absSum += Math.abs(x[row * S + s] ?? 0);
    largestAbsSum = Math.max(largestAbsSum, absSum);
  }
  const ku = (S - 1) * UNIT_ROUNDOFF_F32;
  return (ku / (1 - ku)) * largestAbsSum;
}
