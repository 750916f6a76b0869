/**
 * The playground page's elements, the state it shows and how it shows it. The state is also
 * `window.shadergradPlayground`, so end-to-end tests read what a user sees (status, losses,
 * classification errors) without scraping; #stats carries the same numbers as data-attributes.
 */
import type { AdapterSummary, Activation, OptimizerKind } from '../api';
import { drawChart, type Series } from '../charts';
import { byId } from '../page';
import { drawUnit } from './draw';
import type { Mode } from './options';

export type PlaygroundStatus = 'starting' | 'ready' | 'training' | 'paused' | 'error' | 'no-webgpu';

/** One network being trained: its optimizer, per-step losses and current errors. */
export interface RunState {
  optimizer: OptimizerKind;
  lr: number;
  /** Full-batch loss of every step so far (before that step's update). */
  losses: number[];
  /** Training points the network classifies wrongly now. */
  errors: number;
}

export interface PlaygroundState {
  status: PlaygroundStatus;
  message: string;
  adapter?: AdapterSummary;
  mode: Mode;
  step: number;
  /** Points in the training set. */
  points: number;
  /** One run, or four in compare mode (sgd, momentum, rmsprop, adam). */
  runs: RunState[];
  /** How many times the boundaries were redrawn from fresh GPU predictions. */
  draws: number;
  error?: string;
}

export const ui = {
  adapter: byId('adapter', HTMLElement),
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  form: byId('settings', HTMLFormElement),
  toggle: byId('toggle', HTMLButtonElement),
  reset: byId('reset', HTMLButtonElement),
  xorPreset: byId('preset-xor', HTMLButtonElement),
  status: byId('status', HTMLElement),
  stats: byId('stats', HTMLElement),
  boundary: byId('boundary', HTMLCanvasElement),
  boundaryCaption: byId('boundary-caption', HTMLElement),
  lossChart: byId('loss-chart', HTMLCanvasElement),
  compareCard: byId('compare-card', HTMLElement),
  compare: byId('compare', HTMLElement),
  hidden: byId('hidden', HTMLElement),
};

export const optimizerColors: Record<OptimizerKind, string> = {
  sgd: '#c0392b',
  momentum: '#d68910',
  rmsprop: '#1e8449',
  adam: '#2451b3',
  adamw: '#7d3c98',
};

const MAX_UNITS_SHOWN = 16;

/** Shows an error in the banner (and keeps it in the state for tests). */
export function showError(state: PlaygroundState, e: unknown): void {
  state.error = e instanceof Error ? e.message : String(e);
  ui.error.textContent = state.error;
  ui.error.hidden = false;
}

function describeRun(r: RunState, points: number): string {
  const loss = r.losses.at(-1);
  return `${r.optimizer} (lr ${r.lr}): loss ${loss === undefined ? '-' : loss.toFixed(4)}, ${r.errors} of ${points} wrong`;
}

/** Status line, buttons, counters and the loss chart. */
export function renderTraining(state: PlaygroundState, focus: number): void {
  const off = state.status === 'starting' || state.status === 'no-webgpu';
  ui.toggle.disabled = off || state.status === 'error';
  ui.toggle.textContent =
    state.status === 'training' ? 'Pause' : state.step > 0 ? 'Resume' : 'Train';
  ui.reset.disabled = off;
  ui.xorPreset.disabled = off;
  ui.status.textContent = state.message;
  const run = state.runs[focus];
  const loss = run?.losses.at(-1);
  const cell = (name: string, value: string): string => `<span>${name} <b>${value}</b></span>`;
  ui.stats.innerHTML = [
    cell('step', String(state.step)),
    cell('loss', loss === undefined ? '-' : loss.toFixed(5)),
    cell('errors', run ? `${run.errors} / ${state.points}` : '-'),
  ].join('');
  Object.assign(ui.stats.dataset, {
    step: String(state.step),
    loss: String(loss ?? ''),
    errors: String(run?.errors ?? ''),
  });
  if (run) ui.boundaryCaption.textContent = describeRun(run, state.points);
  const series: Series[] = state.runs.map((r) => ({
    label: state.mode === 'compare' ? r.optimizer : 'full-batch loss',
    color: optimizerColors[r.optimizer],
    points: r.losses.map((y, i): [number, number] => [i + 1, y]),
  }));
  drawChart(ui.lossChart, series, { xLabel: 'step' });
  state.runs.forEach((r, i) => {
    const caption = ui.compare.querySelectorAll('figcaption')[i];
    if (caption) caption.textContent = describeRun(r, state.points);
  });
}

/** Compare mode: one small boundary canvas per run; returns the canvases. */
export function buildCompare(state: PlaygroundState): HTMLCanvasElement[] {
  ui.compareCard.hidden = state.mode !== 'compare';
  if (state.mode !== 'compare') {
    ui.compare.replaceChildren();
    return [];
  }
  const figures = state.runs.map((r) => {
    const figure = document.createElement('figure');
    const canvas = Object.assign(document.createElement('canvas'), { width: 180, height: 180 });
    canvas.dataset.optimizer = r.optimizer;
    canvas.style.borderColor = optimizerColors[r.optimizer];
    figure.append(canvas, document.createElement('figcaption'));
    return figure;
  });
  ui.compare.replaceChildren(...figures);
  return figures.map((f) => f.querySelector('canvas')).filter((c) => c !== null);
}

/** One row of small canvases per hidden layer (at most 16 shown per layer). */
export function buildHidden(widths: readonly number[]): HTMLCanvasElement[][] {
  if (widths.length === 0) {
    ui.hidden.textContent =
      'No hidden layer: the model is linear, so its class boundaries are straight lines.';
    return [];
  }
  const layers = widths.map((w, l) => {
    const row = document.createElement('div');
    row.className = 'layer';
    const caption = document.createElement('div');
    caption.className = 'caption';
    const more = w > MAX_UNITS_SHOWN ? ` (first ${MAX_UNITS_SHOWN} shown)` : '';
    caption.textContent = `fc${l + 1}: ${w} unit${w === 1 ? '' : 's'}${more}`;
    const units = Array.from({ length: Math.min(w, MAX_UNITS_SHOWN) }, (_, u) =>
      Object.assign(document.createElement('canvas'), {
        width: 64,
        height: 64,
        title: `fc${l + 1} unit ${u + 1}`,
      }),
    );
    const grid = document.createElement('div');
    grid.className = 'units';
    grid.append(...units);
    row.append(caption, grid);
    return { row, units };
  });
  ui.hidden.replaceChildren(...layers.map((l) => l.row));
  return layers.map((l) => l.units);
}

/** Draws each hidden unit's output over the grid into the canvases buildHidden made. */
export function drawHidden(
  canvases: readonly (readonly HTMLCanvasElement[])[],
  hidden: readonly (readonly Float32Array[])[],
  G: number,
  activation: Activation,
): void {
  canvases.forEach((layer, l) =>
    layer.forEach((canvas, u) => {
      const values = hidden[l]?.[u];
      if (values) drawUnit(canvas, values, G, activation);
    }),
  );
}
