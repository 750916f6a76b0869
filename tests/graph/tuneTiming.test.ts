/**
 * The tuner's final round (src/graph/tuneTiming.ts): candidates are timed in turns, one run each
 * per round, and each gets the median of its own runs and its screen. No GPU: the runs are a
 * script of times.
 */
import { describe, expect, it } from 'vitest';
import { mediansInTurns } from '../../src/graph/tuneTiming';

describe('mediansInTurns', () => {
  it('runs every candidate once per round, in order, and takes each one median', async () => {
    const order: number[] = [];
    // Candidate i's r-th run takes times[i][r]; the first samples are their screens.
    const times = [
      [30, 12, 11],
      [31, 13, 14],
      [40, 8, 9],
    ];
    const runs = [0, 0, 0];
    const medians = await mediansInTurns([10, 11, 9], 3, async (i) => {
      order.push(i);
      const r = runs[i] ?? 0;
      runs[i] = r + 1;
      return Promise.resolve(times[i]?.[r] ?? NaN);
    });
    expect(order).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    // medians of [10, 30, 12, 11], [11, 31, 13, 14] and [9, 40, 8, 9]
    expect(medians).toEqual([11.5, 13.5, 9]);
  });

  it('times a lone default on its own, and nothing for no candidates', async () => {
    let calls = 0;
    expect(await mediansInTurns([0], 4, () => Promise.resolve(++calls))).toEqual([2]);
    expect(await mediansInTurns([], 5, () => Promise.reject(new Error('never run')))).toEqual([]);
    expect(await mediansInTurns([7], 0, () => Promise.reject(new Error('never run')))).toEqual([7]);
  });
});
