/** The per-kernel profile table shown by `--profile` and bench/profileStep.ts. */
import type { KernelProfileRow } from '../core';

export function printProfile(
  rows: readonly KernelProfileRow[],
  batch: number,
  print: (line: string) => void,
): void {
  const total = rows.reduce((a, r) => a + r.medianMs, 0);
  print(
    `profile of one training step, batch ${batch}: ${rows.length} dispatches, ${total.toFixed(1)} ms summed (${Math.round((batch * 1000) / total)} samples/s)`,
  );
  const sorted = [...rows].sort((a, b) => b.medianMs - a.medianMs);
  const width = Math.max(...sorted.map((r) => r.label.length));
  for (const r of sorted) {
    print(
      `  ${r.label.padEnd(width)}  ${r.medianMs.toFixed(2).padStart(9)} ms  ${((100 * r.medianMs) / total).toFixed(1).padStart(5)}%`,
    );
  }
}
