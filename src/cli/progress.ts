/**
 * Epoch progress: a redrawn bar with samples/s and ETA on a terminal, plain lines at every 10%
 * otherwise (logs, CI), so piped output stays readable.
 */
import type { EpochProgress } from '../core';

interface Out {
  isTTY?: boolean;
  write(s: string): boolean;
}

export class ProgressLine {
  private lastTenth = -1;

  constructor(
    private readonly title: string,
    private readonly out: Out,
  ) {}

  update(p: EpochProgress): void {
    const fraction = p.step / p.steps;
    const batch = p.samples / p.step;
    // Rate and ETA from the steps this call ran: after a resume, the epoch began earlier.
    const done = p.step - p.firstStep;
    const rate = (done * batch) / Math.max(p.seconds, 1e-9);
    const eta = (p.seconds / Math.max(done, 1)) * (p.steps - p.step);
    const text = `${this.title} ${p.samples}/${p.steps * batch} loss ${p.loss.toFixed(4)} ${Math.round(rate)} samples/s ETA ${formatSeconds(eta)}`;
    if (this.out.isTTY === true) {
      const width = 24;
      const filled = Math.round(fraction * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.out.write(`${text}\n`);
    }
  }

  done(summary: string): void {
    this.out.write(`${this.out.isTTY === true ? '\r\x1b[K' : ''}${summary}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
