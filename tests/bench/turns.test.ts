/**
 * bench:train's turns (bench/turns.ts): frameworks set up and time their blocks one at a time,
 * round-robin in the order they started, and a failure ends its turn without stalling the rest.
 * No GPU: each "framework" logs what it does and yields to the event loop in between, as an
 * awaited GPU step would.
 */
import { describe, expect, it } from 'vitest';
import { Turns, inTurns, roundRatios, stepBlocks } from '../../bench/turns';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** Sets up, then runs `rounds` blocks of two steps, passing before each; logs every action. */
async function framework(turns: Turns, name: string, rounds: number, log: string[]) {
  return inTurns(turns, async (turn) => {
    log.push(`${name} set-up`);
    await tick();
    for (let r = 1; r <= rounds; r++) {
      await turn.pass();
      for (let step = 0; step < 2; step++) {
        log.push(`${name} ${r}`);
        await tick();
      }
    }
    return name;
  });
}

describe('Turns', () => {
  it('runs set-ups one after another, then one block per framework per round', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const done = await Promise.all(['a', 'b', 'c'].map((n) => framework(turns, n, 2, log)));
    expect(done).toEqual(['a', 'b', 'c']);
    const blocks = log.filter((entry, i) => entry !== log[i - 1]);
    expect(blocks).toEqual([
      'a set-up',
      'b set-up',
      'c set-up',
      'a 1',
      'b 1',
      'c 1',
      'a 2',
      'b 2',
      'c 2',
    ]);
  });

  it('lets a lone framework pass without waiting for anyone', async () => {
    const log: string[] = [];
    await framework(new Turns(), 'a', 3, log);
    expect(log).toEqual(['a set-up', 'a 1', 'a 1', 'a 2', 'a 2', 'a 3', 'a 3']);
  });

  it('ends the turn of a framework that fails, and the others go on', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const failing = inTurns(turns, async () => {
      log.push('x set-up');
      await tick();
      throw new Error('no adapter');
    });
    const [failed, fine] = await Promise.allSettled([failing, framework(turns, 'b', 2, log)]);
    expect(failed).toMatchObject({ status: 'rejected', reason: new Error('no adapter') });
    expect(fine).toEqual({ status: 'fulfilled', value: 'b' });
    expect(log).toEqual(['x set-up', 'b set-up', 'b 1', 'b 1', 'b 2', 'b 2']);
  });
});

describe('stepBlocks', () => {
  it('splits the steps as evenly as they go, larger blocks first', () => {
    expect(stepBlocks(20, 5)).toEqual([4, 4, 4, 4, 4]);
    expect(stepBlocks(10, 3)).toEqual([4, 3, 3]);
    expect(stepBlocks(7, 1)).toEqual([7]);
    expect(stepBlocks(3, 3)).toEqual([1, 1, 1]);
  });

  it('refuses more rounds than steps and counts that are not whole numbers >= 1', () => {
    expect(() => stepBlocks(2, 3)).toThrow('3 rounds need at least as many steps');
    expect(() => stepBlocks(0, 1)).toThrow(/whole numbers >= 1/);
    expect(() => stepBlocks(4, 1.5)).toThrow(/whole numbers >= 1/);
  });
});

describe('roundRatios', () => {
  it("divides each round's peer median by the base's, over the rounds both ran", () => {
    expect(roundRatios([100, 200, 50], [1000, 1000])).toEqual([10, 5]);
  });
});
