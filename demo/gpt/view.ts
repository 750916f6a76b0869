/**
 * The transformer page's elements and the state it shows. The state is also
 * `window.shadergradGpt`, so end-to-end tests read what a user sees without scraping.
 */
import type { AdapterSummary } from '../api';
import { drawChart, smooth } from '../charts';
import { byId } from '../page';

export type GptStatus =
  'starting' | 'building' | 'ready' | 'training' | 'paused' | 'invalid' | 'error' | 'no-webgpu';

export interface GptPageState {
  status: GptStatus;
  /** The status line next to the controls. */
  message: string;
  /** Why the settings or the text were refused ('' when they were not). */
  invalid: string;
  adapter?: AdapterSummary;
  /** The model's vocabulary (distinct characters of the text) and trainable numbers. */
  vocab: number;
  parameters: number;
  steps: number;
  /** [step, mean training loss of that step's batch], at each step whose loss was read. */
  losses: [number, number][];
  /** [step, mean loss over the fixed validation windows]. */
  validation: [number, number][];
  /** Training tokens (batch · context · steps) per second of training, since the model was built. */
  tokensPerSecond: number;
  generating: boolean;
  /** Generations finished. */
  generations: number;
  /** The last generation's characters (without its prompt). */
  generated: string;
  /** Attention maps drawn by the last refresh (layers · heads). */
  maps: number;
  error?: string;
}

/** The state of a page that has not found its GPU yet. */
export function initialState(): GptPageState {
  return {
    status: 'starting',
    message: 'Starting...',
    invalid: '',
    vocab: 0,
    parameters: 0,
    steps: 0,
    losses: [],
    validation: [],
    tokensPerSecond: 0,
    generating: false,
    generations: 0,
    generated: '',
    maps: 0,
  };
}

export const ui = {
  adapter: byId('adapter', HTMLElement),
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  settings: byId('settings', HTMLFormElement),
  corpus: byId('corpus', HTMLSelectElement),
  own: byId('own', HTMLElement),
  ownText: byId('own-text', HTMLTextAreaElement),
  file: byId('file', HTMLInputElement),
  apply: byId('apply', HTMLButtonElement),
  message: byId('message', HTMLElement),
  model: byId('model', HTMLElement),
  toggle: byId('toggle', HTMLButtonElement),
  status: byId('status', HTMLElement),
  stats: byId('stats', HTMLElement),
  lossChart: byId('loss-chart', HTMLCanvasElement),
  sampling: byId('sampling', HTMLFormElement),
  prompt: byId('prompt', HTMLInputElement),
  generate: byId('generate', HTMLButtonElement),
  showMaps: byId('show-maps', HTMLButtonElement),
  sampleMessage: byId('sample-message', HTMLElement),
  sample: byId('sample', HTMLElement),
  maps: byId('maps', HTMLElement),
  mapReadout: byId('map-readout', HTMLElement),
};

/** The value of a form's field `name`, or undefined when the form has no such field. */
export function fieldOf(form: HTMLFormElement, name: string): string | undefined {
  const field = form.elements.namedItem(name);
  return field instanceof HTMLInputElement || field instanceof HTMLSelectElement
    ? field.value
    : undefined;
}

export function setField(form: HTMLFormElement, name: string, value: string): void {
  const field = form.elements.namedItem(name);
  if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value;
}

/** Shows `text` in a message box, or hides the box when `text` is ''. */
export function showMessage(box: HTMLElement, text: string): void {
  box.textContent = text;
  box.hidden = text === '';
}

export function showError(state: GptPageState, e: unknown): void {
  state.error = e instanceof Error ? e.message : String(e);
  ui.error.textContent = state.error;
  ui.error.hidden = false;
}

/** Buttons enabled for the status (a model exists from 'ready' on) and the status line. */
export function renderControls(state: GptPageState, hasModel: boolean): void {
  const settled = state.status !== 'starting' && state.status !== 'building';
  const usable = settled && state.status !== 'no-webgpu' && state.status !== 'error';
  ui.apply.disabled = !usable;
  ui.toggle.disabled = !usable || !hasModel;
  ui.toggle.textContent =
    state.status === 'training' ? 'Pause' : state.steps > 0 ? 'Resume' : 'Train';
  ui.generate.disabled = !usable || !hasModel || state.generating;
  ui.showMaps.disabled = ui.generate.disabled;
  ui.status.textContent = state.message;
}

function last(points: readonly [number, number][]): string {
  const p = points[points.length - 1];
  return p ? p[1].toFixed(3) : '-';
}

/** Counters and the loss chart: training loss (raw and smoothed) and validation points. */
export function renderTraining(state: GptPageState): void {
  const cell = (name: string, value: string): string => `<span>${name} <b>${value}</b></span>`;
  ui.stats.innerHTML = [
    cell('step', String(state.steps)),
    cell('tokens/s', state.tokensPerSecond.toFixed(0)),
    cell('train loss', last(state.losses)),
    cell('validation loss', last(state.validation)),
  ].join('');
  drawChart(
    ui.lossChart,
    [
      { label: 'train batch', color: '#b8c7e8', points: state.losses, lineWidth: 1 },
      { label: 'smoothed', color: '#2451b3', points: smooth(state.losses, 0.8) },
      { label: 'validation', color: '#2f8f4e', points: state.validation, markers: true },
    ],
    {
      title: 'Loss: cross-entropy per character',
      xLabel: 'step',
      yLabel: 'nats per character',
    },
  );
}
