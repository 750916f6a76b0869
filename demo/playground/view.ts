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
  /** Full-batch training loss of every step so far (before that step's update). */
  losses: number[];
  /** Training points the network classifies wrongly now. */
  errors: number;
  /** Test points (held out) the network classifies wrongly now. */
  testErrors: number;
  /** [step, mean loss on the test points] after that step, from step 0 on (none without a test set). */
  testLosses: [number, number][];
}

export interface PlaygroundState {
  status: PlaygroundStatus;
  message: string;
  adapter?: AdapterSummary;
  mode: Mode;
  step: number;
  /** Points in the training set. */
  points: number;
  /** Points held out as the test set (0: no test set). */
  testPoints: number;
  /** One run, or four in compare mode (sgd, momentum, rmsprop, adam). */
  runs: RunState[];
  /** How many times the boundaries were redrawn from fresh GPU predictions. */
  draws: number;
  /** Messages shown beside the control that caused them, by control (field name or button id). */
  errors: Record<string, string>;
  /** The last message shown (beside a control or in the banner), while one is shown. */
  error?: string;
}

export const ui = {
  adapter: byId('adapter', HTMLElement),
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  form: byId('settings', HTMLFormElement),
  toggle: byId('toggle', HTMLButtonElement),
  step: byId('step', HTMLButtonElement),
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

/** The text of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Shows an error that no control caused (a lost device) in the banner. */
export function showBanner(state: PlaygroundState, e: unknown): void {
  state.error = messageOf(e);
  ui.error.textContent = state.error;
  ui.error.hidden = false;
}

const slots = new Map<string, HTMLElement>();

/**
 * The element showing `control`'s error, made on first use: under the field's label, at the end
 * of the form for the settings as a whole, or under the row of buttons for a button.
 */
function errorSlot(control: string): HTMLElement {
  const known = slots.get(control);
  if (known) return known;
  const slot = Object.assign(document.createElement('p'), { className: 'control-error' });
  slot.setAttribute('role', 'alert');
  slot.dataset.errorFor = control;
  const field = ui.form.elements.namedItem(control);
  if (field instanceof HTMLElement) (field.closest('label') ?? field).after(slot);
  else if (control === 'settings') ui.form.append(slot);
  else (ui.toggle.parentElement ?? ui.toggle).after(slot);
  slots.set(control, slot);
  return slot;
}

/** Shows `state.errors` beside their controls and hides the slots of controls without one. */
export function renderErrors(state: PlaygroundState): void {
  for (const [control, message] of Object.entries(state.errors)) {
    const slot = errorSlot(control);
    slot.textContent = message;
    slot.hidden = false;
  }
  for (const [control, slot] of slots) slot.hidden = state.errors[control] === undefined;
  const shown = Object.values(state.errors);
  state.error = ui.error.hidden ? shown.at(-1) : (ui.error.textContent ?? undefined);
}

const fixed = (v: number | undefined, digits: number): string =>
  v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);

function describeRun(r: RunState, state: PlaygroundState): string {
  const test = state.testPoints > 0 ? `; test ${r.testErrors} of ${state.testPoints} wrong` : '';
  return `${r.optimizer} (lr ${r.lr}): loss ${fixed(r.losses.at(-1), 4)}, train ${r.errors} of ${state.points} wrong${test}`;
}

/** The loss chart: each run's training loss per step; in single mode, the test loss too. */
function lossSeries(state: PlaygroundState): Series[] {
  const compare = state.mode === 'compare';
  const train = state.runs.map((r) => ({
    label: compare ? r.optimizer : 'training loss (full batch)',
    color: optimizerColors[r.optimizer],
    points: r.losses.map((y, i): [number, number] => [i + 1, y]),
  }));
  const run = state.runs[0];
  if (compare || !run || state.testPoints === 0) return train;
  return [...train, { label: 'test loss', color: '#d68910', points: run.testLosses }];
}

/** Status line, buttons, counters and the loss chart. */
export function renderTraining(state: PlaygroundState, focus: number): void {
  const off = state.status === 'starting' || state.status === 'no-webgpu';
  // Nothing to train without networks (a failed build); the settings and Reset stay usable.
  ui.toggle.disabled = off || state.runs.length === 0;
  ui.toggle.textContent =
    state.status === 'training' ? 'Pause' : state.step > 0 ? 'Resume' : 'Train';
  ui.step.disabled = ui.toggle.disabled || state.status === 'training';
  ui.reset.disabled = off;
  ui.xorPreset.disabled = off;
  ui.status.textContent = state.message;
  renderStats(state, state.runs[focus]);
  drawChart(ui.lossChart, lossSeries(state), {
    title: state.mode === 'compare' ? 'Training loss per optimizer' : 'Loss',
    xLabel: 'step',
    yLabel: 'loss (MSE or cross-entropy, as set)',
  });
  state.runs.forEach((r, i) => {
    const caption = ui.compare.querySelectorAll('figcaption')[i];
    if (caption) caption.textContent = describeRun(r, state);
  });
  renderErrors(state);
}

/** The counters of the focused run, as text and as data-attributes (for tests). */
function renderStats(state: PlaygroundState, run: RunState | undefined): void {
  const loss = run?.losses.at(-1);
  const testLoss = run?.testLosses.at(-1)?.[1];
  const hasTest = state.testPoints > 0;
  const cell = (name: string, value: string): string => `<span>${name} <b>${value}</b></span>`;
  ui.stats.innerHTML = [
    cell('step', String(state.step)),
    cell('train loss', fixed(loss, 5)),
    cell('train errors', run ? `${run.errors} / ${state.points}` : '-'),
    ...(hasTest
      ? [
          cell('test loss', fixed(testLoss, 5)),
          cell('test errors', run ? `${run.testErrors} / ${state.testPoints}` : '-'),
        ]
      : [cell('test set', 'none')]),
  ].join('');
  Object.assign(ui.stats.dataset, {
    step: String(state.step),
    loss: String(loss ?? ''),
    errors: String(run?.errors ?? ''),
    testLoss: hasTest ? String(testLoss ?? '') : '',
    testErrors: hasTest ? String(run?.testErrors ?? '') : '',
  });
  if (run) ui.boundaryCaption.textContent = describeRun(run, state);
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
