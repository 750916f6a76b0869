/** Small helpers for benchmark scripts: tables on stderr-free stdout, GFLOP/s, progress lines. */

export interface Row {
  readonly [column: string]: string | number;
}

/** Prints rows as an aligned text table. */
export function printTable(title: string, rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] ?? {});
  const cell = (v: string | number | undefined): string =>
    typeof v === 'number' ? formatNumber(v) : (v ?? '');
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]): string =>
    values.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

/** GFLOP/s for `flops` floating-point operations in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return ms > 0 ? flops / (ms * 1e6) : 0;
}

/** A progress note on stderr, so stdout stays the table plus one JSON line. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
