/**
 * The demo page's elements and the state it shows. The state is also `window.shadergradDemo`, so
 * end-to-end tests read what a user sees (status, curves, probabilities) without scraping.
 */
import type { AdapterSummary, MemoryReport, TuningReport } from './api';
import { drawChart, smooth, type Series } from './charts';
import { optionsToParams, type DemoOptions } from './options';
import { byId } from './page';
import { controls, type Control, type DemoStatus, type RunState } from './runState';

export type { DemoStatus } from './runState';

/** One run of a comparison; while it trains, the state's curves are these very arrays. */
export interface RunCurves {
  label: string;
  losses: number[];
  accuracies: number[];
  /** The last entry is the run's final test accuracy once it has ended. */
  testAccuracy: [number, number][];
}

export interface DemoState {
  /** The run's state machine (runState.ts): phase and errors; buttons render from it. */
  run: RunState;
  /** The coarse status derived from the phase (statusOf). */
  status: DemoStatus;
  /** What the page says it is doing, as shown next to the controls. */
  message: string;
  adapter?: AdapterSummary;
  step: number;
  epoch: number;
  /** Per step: mean batch loss, batch accuracy. */
  losses: number[];
  accuracies: number[];
  /** [step, accuracy] of each confusion-matrix evaluation. */
  testAccuracy: [number, number][];
  samplesPerSecond: number;
  /** How much of the current epoch is done, in [0, 1] (the progress bar). */
  epochFraction: number;
  /** A comparison's runs in order (the first is the one with the switch on); absent for one run. */
  runs?: RunCurves[];
  /** Class probabilities of the current drawing or test image. */
  probabilities?: number[];
  /** How many times probabilities were computed (each drawing, test image, pause, load). */
  predictions: number;
  confusion?: { counts: number[]; accuracy: number; total: number };
  memory?: MemoryReport;
  /** What the autotuner chose for the network's training step; absent with `tune=off`. */
  tuning?: TuningReport;
  /** File name of the last checkpoint loaded. */
  loaded?: string;
  /** The last error the page showed, wherever it showed it (kept for tests). */
  error?: string;
}

export const ui = {
  adapter: byId('adapter', HTMLElement),
  /** Why the default network is smaller, on a software adapter. */
  adapterNote: byId('adapter-note', HTMLElement),
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  /** Where each control's error is shown, beside the control. */
  errors: {
    toggle: byId('toggle-error', HTMLElement),
    evaluate: byId('evaluate-error', HTMLElement),
    save: byId('save-error', HTMLElement),
    load: byId('load-error', HTMLElement),
    build: byId('build-error', HTMLElement),
    predict: byId('predict-error', HTMLElement),
  } satisfies Record<Control, HTMLElement>,
  apply: byId('apply', HTMLButtonElement),
  form: byId('settings', HTMLFormElement),
  model: byId('model', HTMLElement),
  padTitle: byId('pad-title', HTMLElement),
  modelChoice: byId('model-choice', HTMLSelectElement),
  toggle: byId('toggle', HTMLButtonElement),
  evaluate: byId('evaluate', HTMLButtonElement),
  status: byId('status', HTMLElement),
  epochBar: byId('epoch-bar', HTMLElement),
  stats: byId('stats', HTMLElement),
  lossChart: byId('loss-chart', HTMLCanvasElement),
  accuracyChart: byId('accuracy-chart', HTMLCanvasElement),
  confusion: byId('confusion', HTMLElement),
  pad: byId('pad', HTMLCanvasElement),
  clear: byId('clear', HTMLButtonElement),
  nextTest: byId('next-test', HTMLButtonElement),
  inputNote: byId('input-note', HTMLElement),
  probabilities: byId('probabilities', HTMLElement),
  filters: byId('filters', HTMLCanvasElement),
  saveModel: byId('save-model', HTMLButtonElement),
  saveFirst: byId('save-first', HTMLButtonElement),
  load: byId('load', HTMLInputElement),
  memory: byId('memory', HTMLElement),
  tuning: byId('tuning', HTMLElement),
};

/** The text of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Offers `bytes` to the user as a file download. */
export function download(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Buttons and their errors, from the run's state only; a lost device fills the banner. */
function renderControls(run: RunState): void {
  const c = controls(run);
  ui.toggle.disabled = !c.toggle.enabled;
  ui.toggle.textContent = c.toggle.label;
  ui.evaluate.disabled = !c.evaluate;
  ui.saveModel.disabled = ui.saveFirst.disabled = !c.save;
  ui.load.disabled = !c.load;
  // A checkpoint replaces the weights under a running step, so it waits for a pause.
  ui.load.title = run.phase === 'training' ? 'Pause training to load a checkpoint' : '';
  ui.apply.disabled = !c.build;
  ui.nextTest.disabled = !c.predict;
  for (const [control, slot] of Object.entries(ui.errors)) {
    const message = run.errors[control as Control];
    slot.textContent = message ?? '';
    slot.hidden = message === undefined;
  }
  ui.error.textContent = run.fatal ?? '';
  ui.error.hidden = run.fatal === undefined;
}

/** Controls, status line, counters, progress bar and both charts. */
export function renderTraining(state: DemoState, batch: number): void {
  renderControls(state.run);
  ui.status.textContent = state.message;
  ui.epochBar.style.width = `${(100 * state.epochFraction).toFixed(1)}%`;
  const last = state.losses.length - 1;
  const cell = (name: string, value: string): string => `<span>${name} <b>${value}</b></span>`;
  const cells = [
    cell('epoch', String(state.epoch)),
    cell('step', String(state.step)),
    cell('samples/s', state.samplesPerSecond.toFixed(0)),
    cell('loss', last >= 0 ? (state.losses[last] ?? 0).toFixed(4) : '-'),
    cell('batch', String(batch)),
  ];
  cells.push(...(state.runs ?? []).map((r) => cell(r.label, finalAccuracy(r))));
  ui.stats.innerHTML = cells.join('');
  if (state.runs) drawComparison(state.runs);
  else drawRun(state);
}

const steps = (ys: number[]): [number, number][] => ys.map((y, i) => [i + 1, y]);

/** A run's test accuracy at its last evaluation, as text. */
function finalAccuracy(r: RunCurves): string {
  const last = r.testAccuracy[r.testAccuracy.length - 1];
  return last ? `test ${(100 * last[1]).toFixed(1)}%` : 'test -';
}

/** One run: raw and smoothed batch loss; smoothed train accuracy and test points. */
function drawRun(state: DemoState): void {
  const losses = steps(state.losses);
  drawChart(
    ui.lossChart,
    [
      { label: 'batch loss', color: '#b8c7e8', points: losses, lineWidth: 1 },
      { label: 'smoothed', color: '#2451b3', points: smooth(losses) },
    ],
    { title: 'Training loss', xLabel: 'step', yLabel: 'cross-entropy' },
  );
  drawChart(
    ui.accuracyChart,
    [
      {
        label: 'train batch (smoothed)',
        color: '#d9822b',
        points: smooth(steps(state.accuracies)),
      },
      { label: 'test subset', color: '#2f8f4e', points: state.testAccuracy, markers: true },
    ],
    { title: 'Accuracy', xLabel: 'step', yLabel: 'share right', yRange: [0, 1] },
  );
}

/** Colors of a comparison's runs, in order. */
const RUN_COLORS = ['#2451b3', '#c0392b'];

/**
 * A comparison: each run's smoothed loss, and its smoothed train accuracy with its test points
 * in the same color; the accuracy legend carries each run's final test accuracy.
 */
function drawComparison(runs: readonly RunCurves[]): void {
  const color = (i: number): string => RUN_COLORS[i % RUN_COLORS.length] ?? '#333';
  const loss = runs.map((r, i): Series => ({
    label: r.label,
    color: color(i),
    points: smooth(steps(r.losses)),
  }));
  drawChart(ui.lossChart, loss, {
    title: 'Training loss (smoothed)',
    xLabel: 'step',
    yLabel: 'cross-entropy',
  });
  const accuracy = runs.flatMap((r, i): Series[] => [
    {
      label: `${r.label}: ${finalAccuracy(r)}`,
      color: color(i),
      points: smooth(steps(r.accuracies)),
    },
    { label: '', color: color(i), points: r.testAccuracy, markers: true },
  ]);
  drawChart(ui.accuracyChart, accuracy, {
    title: 'Accuracy (lines: train batch, smoothed; dots: test subset)',
    xLabel: 'step',
    yLabel: 'share right',
    yRange: [0, 1],
  });
}

/** Enables (and shows) the knobs of the model chosen in the form, and only those. */
export function showModelKnobs(): void {
  for (const set of Array.from(ui.form.querySelectorAll('fieldset[data-model]')))
    if (set instanceof HTMLFieldSetElement)
      set.disabled = set.dataset.model !== ui.modelChoice.value;
}

/** Sets the settings form to `o` (the form's input names are the URL parameter names). */
export function fillForm(o: DemoOptions): void {
  for (const [name, value] of optionsToParams(o)) {
    const field = ui.form.elements.namedItem(name);
    // A value the select does not list (e.g. ?padding=3) gets an option of its own.
    if (
      field instanceof HTMLSelectElement &&
      !Array.from(field.options).some((o) => o.value === value)
    )
      field.add(new Option(value, value));
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement)
      field.value = value;
  }
  const limit = ui.form.elements.namedItem('limit');
  if (limit instanceof HTMLInputElement && o.limit === undefined) limit.value = '';
  showModelKnobs();
}
