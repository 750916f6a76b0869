/**
 * The tuner's final round (src/graph/tuneTiming.ts): candidates are timed in turns, one run each
 * per round, and each gets the median of its own runs and its screen. No GPU: the runs are a
 * script of times. The screen's second look likewise.
 */
import { describe, expect, it } from 'vitest';
import {
  SCREEN_FACTOR,
  SECOND_LOOK_FACTOR,
  mediansInTurns,
  screenWithSecondLook,
} from '../../src/graph/tuneTiming';

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

describe('screenWithSecondLook', () => {
  /** The screen of a candidate whose runs take `times` in turn, against a best of 10 ms. */
  async function screen(times: number[]): Promise<{ ms: number; runs: number }> {
    let runs = 0;
    const ms = await screenWithSecondLook(() => Promise.resolve(times[runs++] ?? NaN), 10);
    return { ms, runs };
  }

  it('keeps one run within SCREEN_FACTOR of the best, and one far past it', async () => {
    expect(await screen([14, 9])).toEqual({ ms: 14, runs: 1 });
    expect(await screen([10 * SCREEN_FACTOR, 9])).toEqual({ ms: 15, runs: 1 });
    expect(await screen([31, 9])).toEqual({ ms: 31, runs: 1 });
  });

  it('runs a screen just out once more, and the faster run stands', async () => {
    // A stall: the second run is the candidate's real time, back in the race.
    expect(await screen([19, 12])).toEqual({ ms: 12, runs: 2 });
    // Slow both times: still out, at its faster run.
    expect(await screen([26, 21])).toEqual({ ms: 21, runs: 2 });
    expect(await screen([10 * SECOND_LOOK_FACTOR, 40])).toEqual({ ms: 30, runs: 2 });
  });
});
