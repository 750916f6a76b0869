/**
 * The coursework playground: a small MLP of the student's choice trained full batch on the GPU
 * on a 2-D dataset, with the decision boundary, each hidden unit's output and the loss curve
 * redrawn as it learns; or, in compare mode, SGD, momentum, RMSprop and Adam trained side by
 * side from the same initial weights on the same points. Any change of the settings builds a
 * fresh network (the seed fixes the data and the initial weights). URL parameters use the form's
 * field names (`?dataset=spirals&hidden=16,16`); `autostart=1` starts training at once.
 */
import '../style.css';
import './playground.css';
import { toy2d, type Gpu, type Toy2d } from '../api';
import { openGpu } from '../page';
import { drawBoundary, extentOf, gridPoints, type Extent } from './draw';
import { PlaygroundNet } from './net';
import {
  defaultSettings,
  optimizerKinds,
  parseSettings,
  sameNetwork,
  settingsToFields,
  xorPreset,
  type Settings,
} from './options';
import {
  buildCompare,
  buildHidden,
  drawHidden,
  renderTraining,
  showError,
  ui,
  type PlaygroundState,
  type PlaygroundStatus,
  type RunState,
} from './view';

/** Grid cells per side for the boundary and hidden-unit pictures. */
const G = 64;
/** Least time between two redraws of the pictures while training (the curves redraw per frame). */
const VIEW_EVERY_MS = 120;

interface Run {
  net: PlaygroundNet;
  state: RunState;
  predicted?: Int32Array;
  /** Its small boundary in compare mode. */
  canvas?: HTMLCanvasElement;
}

const state: PlaygroundState = {
  status: 'starting',
  message: 'Starting...',
  mode: 'single',
  step: 0,
  points: 0,
  runs: [],
  draws: 0,
};
(window as unknown as { shadergradPlayground: PlaygroundState }).shadergradPlayground = state;

let gpu: Gpu | undefined;
let settings: Settings = defaultSettings;
let data: Toy2d | undefined;
let extent: Extent = { x0: -1, x1: 1, y0: -1, y1: 1 };
let grid: Float32Array = new Float32Array(0);
let runs: Run[] = [];
let hiddenCanvases: HTMLCanvasElement[][] = [];
let running = false;
let loop: Promise<void> = Promise.resolve();
/** Settings changes, resets and presets run one after another. */
let queue: Promise<void> = Promise.resolve();

/** The run whose boundary is drawn large and whose hidden units are shown. */
function focus(): number {
  return Math.max(
    0,
    runs.findIndex((r) => r.state.optimizer === settings.optimizer),
  );
}

function setStatus(status: PlaygroundStatus, message: string): void {
  state.status = status;
  state.message = message;
  renderTraining(state, focus());
}

function fail(e: unknown): void {
  running = false;
  showError(state, e);
  setStatus('error', 'Stopped by an error (see above).');
}

function serially(task: () => Promise<void>): void {
  queue = queue.then(task).catch(fail);
}

function fillForm(s: Settings): void {
  for (const [name, value] of settingsToFields(s)) {
    const field = ui.form.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement)
      field.value = value;
  }
  showFields(s);
}

/** Only the fields that matter for these settings. */
function showFields(s: Settings): void {
  ui.form.querySelectorAll<HTMLElement>('[data-show]').forEach((e) => {
    const [name, value] = (e.dataset.show ?? '').split('=');
    e.hidden = (name === 'dataset' ? s.dataset : s.mode) !== value;
  });
}

function formSettings(): Settings {
  return parseSettings((name) => {
    const field = ui.form.elements.namedItem(name);
    return field instanceof HTMLInputElement || field instanceof HTMLSelectElement
      ? field.value
      : undefined;
  });
}

function makeData(s: Settings): Toy2d {
  const classes = s.dataset === 'gaussians' ? { classes: s.classes } : {};
  return toy2d({ kind: s.dataset, count: s.count, noise: s.noise, seed: s.seed, ...classes });
}

/** Stops training and throws the networks away, then builds fresh ones for `next`. */
async function rebuild(next: Settings): Promise<void> {
  if (!gpu) return;
  const wasRunning = running;
  await pause();
  runs.forEach((r) => r.net.destroy());
  runs = [];
  settings = next;
  showFields(next);
  setStatus('starting', 'Compiling the training step...');
  const d = makeData(next);
  [data, extent] = [d, extentOf(d.points)];
  grid = gridPoints(extent, G);
  const spec = { hidden: next.hidden, activation: next.activation, loss: next.loss };
  const compare = next.mode === 'compare';
  for (const kind of compare ? optimizerKinds : [next.optimizer]) {
    const lr = compare ? next.compareLr[kind] : next.lr;
    // The same seed for every optimizer: the same initial weights.
    const net = await PlaygroundNet.create(gpu, spec, d, { kind, lr }, next.seed);
    runs.push({ net, state: { optimizer: kind, lr, losses: [], errors: d.count } });
  }
  Object.assign(state, { mode: next.mode, step: 0, points: d.count, error: undefined });
  state.runs = runs.map((r) => r.state);
  ui.error.hidden = true;
  buildCompare(state).forEach((canvas, i) => {
    const run = runs[i];
    if (run) run.canvas = canvas;
  });
  hiddenCanvases = buildHidden(next.hidden);
  await classifyAll();
  await refreshViews();
  const shape = [2, ...next.hidden, next.loss === 'mse' ? d.targetWidth : d.classes].join('-');
  setStatus('ready', `Ready: ${d.count} points, a ${shape} network.`);
  if (wasRunning) start();
}

async function classifyAll(): Promise<void> {
  await Promise.all(
    runs.map(async (r) => {
      const { predicted, errors } = await r.net.classify();
      r.predicted = predicted;
      r.state.errors = errors;
    }),
  );
}

/** Boundaries (and the focused run's hidden units) from fresh predictions on the grid. */
async function refreshViews(): Promise<void> {
  const d = data;
  if (!d) return;
  const f = focus();
  await Promise.all(
    runs.map(async (r, i) => {
      if (i !== f && !r.canvas) return;
      const out = await r.net.grid(grid, i === f);
      if (r.canvas) drawBoundary(r.canvas, out, G, d, extent, r.predicted);
      if (i !== f) return;
      drawBoundary(ui.boundary, out, G, d, extent, r.predicted);
      drawHidden(hiddenCanvases, out.hidden, G, settings.activation);
    }),
  );
  state.draws++;
}

/** One training frame per display refresh; a hidden tab gets none, so training waits there. */
function nextFrame(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => done()));
}

async function trainLoop(): Promise<void> {
  let lastView = performance.now();
  while (running) {
    const k = settings.stepsPerFrame;
    const losses = await Promise.all(runs.map((r) => r.net.train(k)));
    losses.forEach((l, i) => runs[i]?.state.losses.push(...l));
    state.step += k;
    await classifyAll();
    if (performance.now() - lastView > VIEW_EVERY_MS) {
      await refreshViews();
      lastView = performance.now();
    }
    renderTraining(state, focus());
    await nextFrame();
  }
  await refreshViews();
  setStatus('paused', `Paused after step ${state.step}.`);
}

function start(): void {
  if (running || runs.length === 0 || state.status === 'error') return;
  running = true;
  setStatus('training', 'Training...');
  loop = trainLoop().catch(fail);
}

async function pause(): Promise<void> {
  running = false;
  await loop;
}

function wire(): void {
  ui.toggle.addEventListener('click', () => (running ? void pause() : start()));
  ui.reset.addEventListener('click', () => serially(() => rebuild(settings)));
  ui.xorPreset.addEventListener('click', () =>
    serially(async () => {
      fillForm({ ...settings, ...xorPreset, mode: 'single' });
      await rebuild(formSettings());
    }),
  );
  ui.form.addEventListener('submit', (e) => e.preventDefault());
  ui.form.addEventListener('change', () =>
    serially(async () => {
      let next: Settings;
      try {
        next = formSettings();
      } catch (e) {
        return showError(state, e); // a typo: say so, keep training the current network
      }
      ui.error.hidden = true;
      state.error = undefined;
      if (!sameNetwork(settings, next)) return rebuild(next);
      settings = next;
      if (runs.length > 0) await refreshViews(); // the focused optimizer may have changed
      renderTraining(state, focus());
    }),
  );
}

async function boot(): Promise<void> {
  const params = new URLSearchParams(location.search);
  let badParams: unknown;
  try {
    settings = parseSettings((name) => params.get(name) ?? undefined);
  } catch (e) {
    badParams = e; // shown once the default network is up (a rebuild clears the banner)
  }
  fillForm(settings);
  gpu = await openGpu(
    { banner: ui.noWebgpu, adapter: ui.adapter },
    'the playground cannot train here',
  );
  if (!gpu) return setStatus('no-webgpu', 'WebGPU is not available.');
  state.adapter = gpu.adapter;
  void gpu.lost.then(fail);
  wire();
  await rebuild(settings);
  if (badParams !== undefined) showError(state, badParams);
  if (params.get('autostart') === '1') start();
}

boot().catch(fail);
