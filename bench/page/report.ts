/** The benchmark page's report: the JSON written by "Download JSON" and bench:chrome, and its table. */
import type { AdapterSummary } from '../../src/index';
import type { BenchOptions, BenchRow, SuiteName } from './common';
import type { TfjsReport } from './tfjsSuite';

export interface BenchReport {
  schema: 'shadergrad-bench/1';
  date: string;
  userAgent: string;
  /** e.g. "Chromium 156", from navigator.userAgentData when the browser offers it. */
  browser: string;
  adapter: AdapterSummary;
  /** Whether the device has timestamp-query; each row says which timing it used. */
  timestampQuery: boolean;
  /** Step of the device's timestamps in ns (gcd of raw stamps); undefined without them. */
  timestampResolutionNs?: number | undefined;
  options: BenchOptions;
  /** The adapter's measured FMA peak (GFLOP/s), for the "of peak" column. */
  peakGflops: number | undefined;
  rows: BenchRow[];
  /** Suites that failed (validation or a GPU error), with the message. */
  errors: { suite: SuiteName; message: string }[];
  /** TensorFlow.js (webgpu backend) on the same matmuls and training step, with ratios. */
  tfjs?: TfjsReport;
  seconds: number;
}

export function browserName(): string {
  const data = (
    navigator as Navigator & { userAgentData?: { brands: { brand: string; version: string }[] } }
  ).userAgentData;
  const brand = data?.brands.find((b) => !/not.?a.?brand/i.test(b.brand) && b.brand !== 'Chromium');
  const chromium = data?.brands.find((b) => b.brand === 'Chromium');
  const pick = brand ?? chromium;
  return pick ? `${pick.brand} ${pick.version}` : navigator.userAgent;
}

function cell(text: string, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  td.className = className;
  return td;
}

function fixed(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(3);
}

const HEADERS: [string, boolean][] = [
  ['kernel', false],
  ['shape', false],
  ['median ms', true],
  ['min–max ms', true],
  ['throughput', true],
  ['of FMA peak', true],
  ['timing', false],
  ['validated (max error / tolerance)', false],
];

/** One table section per suite, rows in the order they ran. */
export function renderTable(table: HTMLTableElement, report: BenchReport): void {
  const head = document.createElement('tr');
  for (const [name, numeric] of HEADERS) {
    const th = document.createElement('th');
    th.textContent = name;
    if (numeric) th.className = 'num';
    head.append(th);
  }
  const body: HTMLTableRowElement[] = [head];
  let suite: SuiteName | undefined;
  for (const r of report.rows) {
    if (r.suite !== suite) {
      suite = r.suite;
      const tr = document.createElement('tr');
      tr.className = 'suite';
      const th = document.createElement('th');
      th.colSpan = HEADERS.length;
      th.textContent = r.suite;
      tr.append(th);
      body.push(tr);
    }
    const peak =
      r.unit === 'GFLOP/s' && report.peakGflops
        ? `${((100 * r.value) / report.peakGflops).toFixed(0)}%`
        : '';
    const v = r.validation;
    const tr = document.createElement('tr');
    tr.append(
      cell(r.kernel),
      cell(r.shape),
      cell(fixed(r.medianMs), 'num'),
      cell(`${fixed(r.minMs)}–${fixed(r.maxMs)}`, 'num'),
      cell(`${fixed(r.value)} ${r.unit}`, 'num'),
      cell(peak, 'num'),
      cell(r.timing, 'nowrap'),
      cell(`✓ ${v.shape}: ${v.maxError.toExponential(1)} / ${v.atol.toExponential(1)}`),
    );
    body.push(tr);
  }
  table.replaceChildren(...body);
}

/** shadergrad against tfjs, one row per pair: throughputs and shadergrad / tfjs. */
export function renderComparison(table: HTMLTableElement, tfjs: TfjsReport | undefined): void {
  if (!tfjs || 'error' in tfjs) {
    table.replaceChildren();
    return;
  }
  const head = document.createElement('tr');
  // The ratio, the headline, comes right after what was measured, so a phone shows it unscrolled.
  const headers = ['shadergrad kernel', 'shape', 'ratio', 'shadergrad', 'tfjs', 'tfjs median ms'];
  headers.forEach((name, i) => {
    const th = document.createElement('th');
    th.textContent = name;
    th.className = i >= 2 ? 'num' : '';
    head.append(th);
  });
  const timings = [...tfjs.matmul, ...tfjs.train];
  const rows = tfjs.ratios.map((r) => {
    const peer = timings.find((t) => t.shape === r.shape && t.unit === r.unit);
    const tr = document.createElement('tr');
    tr.append(
      cell(r.kernel),
      cell(r.shape),
      cell(`${fixed(r.ratio)}×`, r.ratio >= 1 ? 'num faster' : 'num slower'),
      cell(`${fixed(r.shadergrad)} ${r.unit}`, 'num'),
      cell(`${fixed(r.tfjs)} ${r.unit}`, 'num'),
      cell(peer ? fixed(peer.medianMs) : '', 'num'),
    );
    return tr;
  });
  table.replaceChildren(head, ...rows);
}
