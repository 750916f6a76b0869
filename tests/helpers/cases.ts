/**
 * Shape tables shared by kernel tests, written once so every family that takes the same kind of
 * problem is checked on the same cases (maxPool and avgPool; conv2d and conv2dImplicit).
 */
import type { Padding, PoolInput } from '../../src/kernels/geometry';

type Pair = number | [number, number];

/** [name, input, kernel, stride (default: the kernel)] for a pool on the GPU against its twin. */
export type PoolCase = [string, PoolInput, Pair, Pair?];

export const poolCases: PoolCase[] = [
  ['N=1 C=3 28x28, 2x2', { N: 1, C: 3, H: 28, W: 28 }, 2],
  ['7x5, 3x3 stride 2 (overlap-free)', { N: 2, C: 3, H: 7, W: 5 }, 3, 2],
  ['7x5, 3x3 stride 1 (overlapping)', { N: 2, C: 3, H: 7, W: 5 }, 3, 1],
  ['1x1 kernel', { N: 3, C: 2, H: 5, W: 7 }, 1],
  ['9x11, 2x2: last row and column dropped', { N: 3, C: 1, H: 9, W: 11 }, 2],
  [
    '13x10, 3x4 stride 2x3: trailing rows/columns dropped',
    { N: 1, C: 4, H: 13, W: 10 },
    [3, 4],
    [2, 3],
  ],
  ['stride 3 > kernel 2: gaps get zero gradient', { N: 2, C: 1, H: 10, W: 11 }, 2, 3],
  ['global 5x6 window', { N: 4, C: 5, H: 5, W: 6 }, [5, 6]],
];

/**
 * [name, kernel, stride] of a pool over N=2 C=2 7x6 whose float64 twin backward is checked
 * against central differences: small, because each input element costs two forward passes.
 */
export const poolGradCases: [string, Pair, Pair][] = [
  ['3x3 stride 2', 3, 2],
  ['3x3 stride 1 (overlapping)', 3, 1],
  ['2x3 stride 1x2', [2, 3], [1, 2]],
];

/** A convolution of x [N, C, H, W] by O filters of `k`, for the GPU paths against the twins. */
/**
 * Inputs for 2x2 windows of stride 2, which take the pooling kernels' *Pairs entry points: even
 * widths, an odd number of windows per row, an odd height (a last row in no window), one window.
 */
export const pairsPoolInputs: [string, PoolInput][] = [
  ["the CNN's 28x28, batch 1", { N: 1, C: 3, H: 28, W: 28 }],
  ['14x14 (an odd number of windows per row)', { N: 3, C: 2, H: 14, W: 14 }],
  ['9x10: an odd height, the last row in no window', { N: 2, C: 2, H: 9, W: 10 }],
  ['one 2x2 window', { N: 1, C: 1, H: 2, W: 2 }],
];

export interface ConvCase {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  k: Pair;
  stride: Pair;
  padding: Padding;
}

/**
 * Every conv2d GPU test runs all of these (per matmul variant); conv2dImplicit runs those it
 * supports (convImplicitCases). The first five came from conv2d.test.ts, the rest from
 * conv2dImplicit.test.ts.
 */
export const convCases: ConvCase[] = [
  { N: 1, C: 1, H: 28, W: 28, O: 4, k: 5, stride: 1, padding: 'same' },
  { N: 3, C: 4, H: 14, W: 14, O: 8, k: 5, stride: 1, padding: 2 },
  { N: 2, C: 3, H: 7, W: 5, O: 5, k: [3, 2], stride: 2, padding: 'valid' },
  { N: 2, C: 2, H: 9, W: 9, O: 3, k: 3, stride: 2, padding: 'same' },
  { N: 2, C: 6, H: 10, W: 7, O: 12, k: 3, stride: 1, padding: 1 }, // implicit dX with subgroupTile
  { N: 2, C: 32, H: 14, W: 14, O: 64, k: 5, stride: 1, padding: 'same' }, // the CNN's conv2
  { N: 1, C: 1, H: 5, W: 7, O: 4, k: 3, stride: 1, padding: 1 }, // batch 1, one channel
  { N: 3, C: 33, H: 9, W: 11, O: 8, k: 3, stride: 1, padding: 'same' }, // C past one tile
  { N: 2, C: 5, H: 13, W: 6, O: 12, k: [3, 2], stride: 1, padding: 'valid' }, // no padding
  { N: 1, C: 7, H: 8, W: 9, O: 4, k: 2, stride: 1, padding: 'same' }, // even kernel: pad 0,0
  { N: 2, C: 3, H: 6, W: 6, O: 4, k: 6, stride: 1, padding: 0 }, // one output position
  { N: 1, C: 2, H: 4, W: 3, O: 8, k: [7, 9], stride: 1, padding: [3, 4] }, // KW > 8: 3 quads
  { N: 1, C: 4, H: 5, W: 1, O: 4, k: 1, stride: 1, padding: 0 }, // 1x1 kernel, W = 1
];

/**
 * The cases conv2dImplicit's backward-data can run: stride 1 and O % 4 == 0 (every padding in
 * the table is below its kernel). Chosen by shape here, not by asking the kernel, so a kernel
 * that wrongly refused a case would fail rather than lose the case.
 */
export const convImplicitCases: ConvCase[] = convCases.filter(
  (c) => c.stride === 1 && c.O % 4 === 0,
);
