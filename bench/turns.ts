/**
 * Interleaving for bench:train: the frameworks of one comparison are all set up and take the
 * adapter in turns, one block of timed steps each, round after round. On a machine whose speed
 * drifts within minutes (this project's VM moved by 1.6x), timing one framework after another
 * compares each against a different machine; in rounds, every framework sees the same drift, and
 * each round gives a ratio of its own.
 */

/** First come, first served: each turn starts once every earlier one has ended. */
export class Turns {
  private last: Promise<void> = Promise.resolve();

  /** Resolves when every earlier turn has ended; the turn lasts until the returned `end()`. */
  begin(): Promise<() => void> {
    const previous = this.last;
    let end = (): void => {};
    // Taken in the order begin() is called: the chain is extended before anything is awaited.
    this.last = new Promise<void>((resolve) => (end = resolve));
    return previous.then(() => end);
  }
}

/** A framework's hold on the adapter while it runs among others. */
export interface Turn {
  /** Ends this turn and waits for the next: every other framework runs one turn in between. */
  pass(): Promise<void>;
}

/**
 * Runs `work` in turns with whoever else uses `turns`: it starts once the turns before it have
 * ended, and holds the adapter except while it passes. The turn ends when `work` settles, also on
 * an error, so the others go on.
 */
export async function inTurns<T>(turns: Turns, work: (turn: Turn) => Promise<T>): Promise<T> {
  let end = await turns.begin();
  const turn: Turn = {
    async pass() {
      const next = turns.begin();
      end();
      end = await next;
    },
  };
  try {
    return await work(turn);
  } finally {
    end();
  }
}

/** `steps` split into `rounds` blocks as even as they go, the larger first: 10, 3 -> [4, 3, 3]. */
export function stepBlocks(steps: number, rounds: number): number[] {
  if (!Number.isInteger(steps) || !Number.isInteger(rounds) || steps < 1 || rounds < 1)
    throw new Error(
      `stepBlocks: expected whole numbers >= 1, got ${steps} steps, ${rounds} rounds`,
    );
  if (rounds > steps) throw new Error(`stepBlocks: ${rounds} rounds need at least as many steps`);
  const base = Math.floor(steps / rounds);
  const extra = steps % rounds;
  return Array.from({ length: rounds }, (_, r) => base + (r < extra ? 1 : 0));
}

/**
 * Each round's ratio of two frameworks' median step times, `peer / base` (> 1: base is faster),
 * for the rounds both ran; the same as a samples/s ratio, since both train the same batch.
 */
export function roundRatios(baseMs: readonly number[], peerMs: readonly number[]): number[] {
  const rounds = Math.min(baseMs.length, peerMs.length);
  return Array.from({ length: rounds }, (_, r) => (peerMs[r] ?? NaN) / (baseMs[r] ?? NaN));
}
