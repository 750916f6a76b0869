/**
 * What the explorer keeps across runs: the table of every run (kernel, source, sizes, time,
 * throughput, roofline shares, max error, verdict), so naive and tiled, or library and edited,
 * sit side by side; the race detector's findings of the last run; the measured peaks.
 */
import type { Peaks } from './roofline';
import { cell, number, ui, type ExplorerResult } from './view';

const HEADERS = [
  'kernel',
  'source',
  'sizes',
  'median ms',
  'throughput',
  'of FMA peak',
  'of bandwidth',
  'max error',
  'verdict',
];

const percent = (x: number | undefined): string => (x === undefined ? '' : `${x.toFixed(1)}%`);

/** The runs table, newest first. */
export function renderHistory(runs: readonly ExplorerResult[]): void {
  ui.history.replaceChildren();
  const head = ui.history.createTHead().insertRow();
  for (const h of HEADERS) cell(head, h);
  const body = ui.history.createTBody();
  for (const r of [...runs].reverse()) {
    const row = body.insertRow();
    cell(row, r.kernel);
    cell(row, r.source);
    cell(row, r.shape);
    cell(row, r.timing.medianMs.toFixed(3), 'num');
    cell(row, `${r.throughput.toPrecision(3)} ${r.unit}`, 'num');
    cell(row, percent(r.roofline?.ofFmaPeak), 'num');
    cell(row, percent(r.roofline?.ofBandwidth), 'num');
    cell(row, number(r.maxError), 'num');
    cell(row, r.verdict, r.verdict === 'pass' ? 'pass' : 'fail');
  }
}

/** The last run's race reports, one list per checked call. */
export function renderRaces(r: ExplorerResult | undefined): void {
  const items = (r?.races ?? []).flatMap((f) => {
    const lines = [...f.races, ...f.errors.map((e) => `interpreter: ${e}`)];
    if (f.raceCount > f.races.length)
      lines.push(`... and ${f.raceCount - f.races.length} more races`);
    if (lines.length === 0) lines.push('no races found');
    return lines.map((text) =>
      Object.assign(document.createElement('li'), { textContent: `${f.call}: ${text}` }),
    );
  });
  const list = document.createElement('ul');
  list.append(...items);
  ui.races.replaceChildren(...(items.length > 0 ? [list] : []));
}

export function renderPeaks(peaks: Peaks | undefined, note = ''): void {
  ui.peaks.textContent = peaks
    ? `FMA peak ${peaks.gflops.toPrecision(3)} GFLOP/s, copy bandwidth ${peaks.gbps.toPrecision(3)} GB/s`
    : note || 'Not measured yet: measured before the first run, or now.';
}
