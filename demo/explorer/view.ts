/**
 * The explorer page's elements, and rendering of the size fields and of a run's result. The
 * state is also `window.shadergradExplorer`, so end-to-end tests read what the page shows.
 */
import type { AdapterSummary } from '../../src/index';
import type { TimingResult } from '../../src/kernelApi';
import type { Comparison } from '../../bench/cases';
import type { Field } from './fields';
import type { Unit } from './kernel';
import type { RaceFinding } from './raceCheck';
import type { Peaks, Roofline } from './roofline';

export type ExplorerStatus =
  'starting' | 'ready' | 'running' | 'done' | 'invalid' | 'error' | 'no-webgpu';

export interface ExplorerResult {
  kernel: string;
  /** 'library', 'edited <shaders>', or 'preset: <title>' (the "break it" preset of the edit). */
  source: string;
  /** Names of the shaders run with edited source. */
  edited: string[];
  shape: string;
  /** Labels of the timed dispatches. */
  calls: string[];
  comparisons: Comparison[];
  /** Largest |GPU - twin| over every output. */
  maxError: number;
  /** Every output within its tolerance. */
  passed: boolean;
  /** The race detector's findings per checked call; undefined when it did not run. */
  races: RaceFinding[] | undefined;
  raceCount: number;
  /** 'pass', or 'FAIL: ' and what failed (max error, races). */
  verdict: string;
  timing: TimingResult;
  unit: Unit;
  /** Flops or bytes per run. */
  work: number;
  /** Bytes moved at least per run. */
  bytes: number;
  throughput: number;
  /** Undefined when the peaks could not be measured. */
  roofline: Roofline | undefined;
}

export interface ExplorerState {
  status: ExplorerStatus;
  /** The chosen kernel's id. */
  kernel: string;
  /** What the page says next to the Run button (a bad size's explanation, say). */
  message: string;
  adapter?: AdapterSummary;
  result?: ExplorerResult;
  /** Every run since the page opened, oldest first. */
  history: ExplorerResult[];
  peaks?: Peaks;
  /** The last run's compile error (line:col in the family's file), shown beside the editor. */
  compileError?: string;
  error?: string;
}

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`demo/explorer/index.html has no #${id} ${type.name}`);
  return e;
}

export const ui = {
  adapter: byId('adapter', HTMLElement),
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  form: byId('settings', HTMLFormElement),
  kernel: byId('kernel', HTMLSelectElement),
  fields: byId('fields', HTMLElement),
  reps: byId('reps', HTMLInputElement),
  run: byId('run', HTMLButtonElement),
  message: byId('message', HTMLElement),
  status: byId('status', HTMLElement),
  result: byId('result', HTMLElement),
  comparisons: byId('comparisons', HTMLTableElement),
  races: byId('races', HTMLElement),
  history: byId('history', HTMLTableElement),
  measurePeaks: byId('measure-peaks', HTMLButtonElement),
  peaks: byId('peaks', HTMLElement),
  tabs: byId('tabs', HTMLElement),
  source: byId('source', HTMLElement),
  editor: byId('editor', HTMLTextAreaElement),
  edit: byId('edit', HTMLButtonElement),
  reset: byId('reset', HTMLButtonElement),
  compileError: byId('compile-error', HTMLElement),
  presets: byId('presets', HTMLElement),
};

/** One labelled input per field, filled from `value(key)` or the field's initial value. */
export function renderFields(fields: readonly Field[], value: (key: string) => string | null) {
  ui.fields.replaceChildren(
    ...fields.map((f) => {
      const label = document.createElement('label');
      label.append(`${f.label} `);
      const current = value(f.key) ?? String(f.initial);
      if (f.kind === 'int') {
        const input = Object.assign(document.createElement('input'), {
          name: f.key,
          value: current,
        });
        // No type=number: the page, not the browser, explains a bad value.
        input.inputMode = 'numeric';
        label.append(input);
      } else {
        const select = Object.assign(document.createElement('select'), { name: f.key });
        select.append(...f.options.map((o) => new Option(o, o, false, o === current)));
        label.append(select);
      }
      return label;
    }),
  );
}

/** The current value of a field's input. */
export function fieldValue(key: string): string {
  const e = ui.fields.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${key}"]`);
  return e?.value ?? '';
}

export const number = (x: number): string =>
  x === 0
    ? '0'
    : Number.isNaN(x)
      ? 'NaN'
      : Math.abs(x) >= 0.01
        ? x.toPrecision(3)
        : x.toExponential(2);

export function cell(row: HTMLTableRowElement, text: string, className = ''): void {
  const td = row.insertCell();
  td.textContent = text;
  td.className = className;
}

/** The result: what ran, how long it took, the throughput and every output against its twin. */
export function renderResult(r: ExplorerResult | undefined): void {
  ui.comparisons.replaceChildren();
  if (!r) {
    ui.result.replaceChildren(
      Object.assign(document.createElement('dd'), { textContent: 'Not run yet.' }),
    );
    return;
  }
  const t = r.timing;
  const entries: [string, string, string?][] = [
    ['kernel', r.kernel],
    ['source', r.source, 'source-kind'],
    ['shape', r.shape],
    ['dispatches', r.calls.join('\n')],
    ['against the CPU twin', r.passed ? 'pass: every output within tolerance' : 'FAIL', 'verdict'],
    ['race detector', raceSummary(r), 'race-verdict'],
    [
      'median time',
      `${t.medianMs.toFixed(3)} ms (min ${t.minMs.toFixed(3)}, max ${t.maxMs.toFixed(3)}, ${t.samplesMs.length} samples after 1 warm-up, ${t.source})`,
      'time',
    ],
    [
      r.unit,
      `${r.throughput.toPrecision(3)} ${r.unit} (${number(r.work)} ${r.unit === 'GFLOP/s' ? 'flops' : 'bytes'} per run / median time)`,
      'throughput',
    ],
    ['roofline', rooflineText(r), 'roofline'],
  ];
  ui.result.replaceChildren(
    ...entries.flatMap(([k, v, id]) => {
      const dt = Object.assign(document.createElement('dt'), { textContent: k });
      const dd = Object.assign(document.createElement('dd'), { textContent: v });
      if (id) dd.id = id;
      if (id === 'verdict') dd.className = r.passed ? 'pass' : 'fail';
      if (id === 'race-verdict') dd.className = r.raceCount > 0 ? 'fail' : '';
      return [dt, dd];
    }),
  );
  renderComparisons(r.comparisons);
}

/** The race detector's verdict in a line (its findings are listed under the result). */
export function raceSummary(r: ExplorerResult): string {
  if (!r.races) return 'not run: no entry point of this kernel uses workgroup memory';
  const errors = r.races.reduce((a, f) => a + f.errors.length, 0);
  const found = r.raceCount > 0 ? `FAIL: ${r.raceCount} races` : 'no races found';
  return `${found} (one workgroup of a small case)${errors > 0 ? `, ${errors} interpreter errors` : ''}`;
}

/** Arithmetic intensity and the shares of the two roofs, in a line. */
export function rooflineText(r: ExplorerResult): string {
  const f = r.roofline;
  if (!f) return 'no peaks measured';
  const intensity =
    f.flopsPerByte === undefined ? 'no flops counted' : `${number(f.flopsPerByte)} flops/byte`;
  const fma = f.ofFmaPeak === undefined ? '' : `${f.ofFmaPeak.toFixed(1)}% of FMA peak, `;
  return `${intensity}; ${fma}${f.ofBandwidth.toFixed(1)}% of copy bandwidth (${number(r.bytes)} bytes moved at least)`;
}

/** One row per output: its errors against the twin, the tolerance, pass or the first mismatch. */
function renderComparisons(comparisons: readonly Comparison[]): void {
  const head = ui.comparisons.createTHead().insertRow();
  for (const h of ['output', 'max abs error', 'max rel error', 'tolerance', 'result'])
    cell(head, h);
  const body = ui.comparisons.createTBody();
  for (const c of comparisons) {
    const row = body.insertRow();
    cell(row, c.output);
    cell(row, number(c.maxError), 'num');
    cell(row, number(c.maxRelError), 'num');
    cell(row, `${number(c.atol)} + ${number(c.rtol)}·|twin|`, 'num');
    const ok = c.mismatches === 0;
    cell(
      row,
      ok ? 'pass' : `FAIL: ${c.mismatches} elements, ${c.firstMismatch ?? ''}`,
      ok ? 'pass' : 'fail',
    );
  }
}
