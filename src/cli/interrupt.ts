/**
 * Ctrl-C (SIGINT) during a CLI run. The first one asks the trainer for a snapshot after the step
 * in progress and stops the epoch at the next step, so the checkpoint holds the exact position
 * and `--resume` loses nothing; the run then prints the command that continues it. A second
 * Ctrl-C quits at once (atomic writes leave every file whole; a stray temp file is removed by
 * the next write).
 */
import type { Trainer } from '../core';

/** The epoch stopped at a step boundary because the user pressed Ctrl-C. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

/** What `work` resolves to, or undefined when Ctrl-C stopped it; other failures pass through. */
export async function unlessInterrupted<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof Interrupted) return undefined;
    throw e;
  }
}

/** Exit status of a process ended by SIGINT, as shells report it (128 + 2). */
export const SIGINT_EXIT_CODE = 130;

/** Listens for SIGINT while a trainer runs; `requested` says whether the run should stop. */
export class SigintStop {
  requested = false;
  private stopAt: number | undefined;
  private readonly listener = (): void => this.signal();

  constructor(private readonly trainer: Trainer) {
    process.on('SIGINT', this.listener);
  }

  dispose(): void {
    process.off('SIGINT', this.listener);
  }

  private signal(): void {
    if (this.requested) {
      console.error('shadergrad: interrupted twice; quitting without saving');
      process.exit(SIGINT_EXIT_CODE);
    }
    this.requested = true;
    console.log(
      '\ninterrupted: stopping at the next step to save the position (Ctrl-C again quits now)',
    );
    // The next step snapshots its result; the one after stops the epoch before it runs.
    this.trainer.snapshots.schedule((step) => {
      if (this.stopAt === undefined) this.stopAt = step;
      if (step > this.stopAt) throw new Interrupted();
      return true;
    });
  }
}
