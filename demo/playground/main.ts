/**
 * The coursework playground: a small MLP of the student's choice trained full batch on the GPU
 * on a 2-D dataset, with the decision boundary, each hidden unit's output and the loss curves
 * redrawn as it learns; or, in compare mode, SGD, momentum, RMSprop and Adam trained side by
 * side from the same initial weights on the same points. A seeded part of the points is held out
 * as a test set: it is never trained on, and its loss and errors are shown apart.
 *
 * Any change of the settings builds a fresh network (the seed fixes the data, the split and the
 * initial weights) and is written to the URL, so the address bar is always a link to the same
 * setup (`?dataset=spirals&hidden=16,16&test=0.2`); `autostart=1` starts training at once. Errors
 * show beside the control (or field) that caused them and never lock the page.
 */
import '../style.css';
import './playground.css';
import type { Gpu } from '../api';
import { openGpu } from '../page';
import { optimizerKinds, switchDataset, withDefaults } from './datasets';
import { drawBoundary, extentOf, gridPoints, type Extent, type PointSet } from './draw';
import { fillForm, readForm, showFields } from './form';
import { PlaygroundNet } from './net';
import {
  defaultSettings,
  sameNetwork,
  settingsFromQuery,
  settingsToQuery,
  type Settings,
} from './options';
import { pointSets, type PointSets } from './split';
import {
  buildCompare,
  buildHidden,
  drawHidden,
  messageOf,
  renderErrors,
  renderTraining,
  showBanner,
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
  testPredicted?: Int32Array;
  /** Its small boundary in compare mode. */
  canvas?: HTMLCanvasElement;
}

const state: PlaygroundState = {
  status: 'starting',
  message: 'Starting...',
  mode: 'single',
  step: 0,
  points: 0,
  testPoints: 0,
  runs: [],
  draws: 0,
  errors: {},
};
(window as unknown as { shadergradPlayground: PlaygroundState }).shadergradPlayground = state;

let gpu: Gpu | undefined;
let settings: Settings = defaultSettings();
let sets: PointSets | undefined;
let extent: Extent = { x0: -1, x1: 1, y0: -1, y1: 1 };
let grid: Float32Array = new Float32Array(0);
let runs: Run[] = [];
let hiddenCanvases: HTMLCanvasElement[][] = [];
let running = false;
let loop: Promise<void> = Promise.resolve();
/** Settings changes, steps, resets and presets run one after another. */
let queue: Promise<void> = Promise.resolve();

/**
 * The messages shown beside controls, by where they came from: the link the page was opened
 * with (each kept until its field is changed), the form as last read, and the buttons (or
 * 'settings' for a network that failed to build).
 */
const errors = {
  link: {} as Record<string, string>,
  form: {} as Record<string, string>,
  action: {} as Record<string, string>,
};

function showErrors(): void {
  state.errors = { ...errors.link, ...errors.form, ...errors.action };
  renderErrors(state);
}

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

/** Stops training and shows `e` beside `control`; every control stays usable. */
function fail(control: string, e: unknown): void {
  running = false;
  errors.action[control] = messageOf(e);
  showErrors();
  setStatus('error', 'Stopped by an error (see the message beside the control).');
}

function serially(control: string, task: () => Promise<void>): void {
  queue = queue.then(task).catch((e: unknown) => fail(control, e));
}

/** The address bar becomes a link to `s`. */
function writeUrl(s: Settings): void {
  history.replaceState(null, '', `${location.pathname}?${settingsToQuery(s)}`);
}

/** Stops training and throws the networks away, then builds fresh ones for `next`. */
async function rebuild(next: Settings): Promise<void> {
  if (!gpu) return;
  const wasRunning = running;
  await pause();
  runs.forEach((r) => r.net.destroy());
  runs = [];
  state.runs = [];
  settings = next;
  showFields(next);
  setStatus('starting', 'Compiling the training step...');
  const s = pointSets(next);
  [sets, extent] = [s, extentOf(s.all.points)];
  grid = gridPoints(extent, G);
  const spec = { hidden: next.hidden, activation: next.activation, loss: next.loss };
  const compare = next.mode === 'compare';
  for (const kind of compare ? optimizerKinds : [next.optimizer]) {
    const lr = compare ? next.compareLr[kind] : next.lr;
    // The same seed for every optimizer: the same initial weights.
    const net = await PlaygroundNet.create(gpu, spec, s.train, { kind, lr }, next.seed).catch(
      (e: unknown) => {
        runs.forEach((r) => r.net.destroy());
        runs = []; // no half-built comparison to train
        throw e;
      },
    );
    const run: RunState = {
      optimizer: kind,
      lr,
      losses: [],
      errors: 0,
      testErrors: 0,
      testLosses: [],
    };
    runs.push({ net, state: run });
  }
  Object.assign(state, { mode: next.mode, step: 0, points: s.train.count });
  state.testPoints = s.test.count;
  state.runs = runs.map((r) => r.state);
  errors.action = {}; // a fresh network: the old buttons' errors no longer apply
  showErrors();
  buildCompare(state).forEach((canvas, i) => {
    const run = runs[i];
    if (run) run.canvas = canvas;
  });
  hiddenCanvases = buildHidden(next.hidden);
  await evaluateAll();
  await refreshViews();
  const shape = [2, ...next.hidden, next.loss === 'mse' ? s.all.targetWidth : s.all.classes];
  const test = s.test.count > 0 ? `${s.test.count} held out for testing` : 'no test set';
  setStatus(
    'ready',
    `Ready: ${s.train.count} training points (${test}), a ${shape.join('-')} network.`,
  );
  if (wasRunning) start();
}

/** Each run's errors on the training and test points, and its test loss at this step. */
async function evaluateAll(): Promise<void> {
  const s = sets;
  if (!s) return;
  await Promise.all(
    runs.map(async (r) => {
      const [train, test] = [await r.net.evaluate(), await r.net.evaluate(s.test)];
      [r.predicted, r.state.errors] = [train.predicted, train.errors];
      [r.testPredicted, r.state.testErrors] = [test.predicted, test.errors];
      if (s.test.count > 0) r.state.testLosses.push([state.step, test.loss]);
    }),
  );
}

/** Boundaries (and the focused run's hidden units) from fresh predictions on the grid. */
async function refreshViews(): Promise<void> {
  const s = sets;
  if (!s) return;
  const f = focus();
  await Promise.all(
    runs.map(async (r, i) => {
      if (i !== f && !r.canvas) return;
      const out = await r.net.grid(grid, i === f);
      const points: PointSet[] = [
        { data: s.train, predicted: r.predicted, role: 'train' },
        { data: s.test, predicted: r.testPredicted, role: 'test' },
      ];
      if (r.canvas) drawBoundary(r.canvas, out, G, s.all.classes, extent, points);
      if (i !== f) return;
      drawBoundary(ui.boundary, out, G, s.all.classes, extent, points);
      drawHidden(hiddenCanvases, out.hidden, G, settings.activation);
    }),
  );
  state.draws++;
}

/** k optimizer steps of every run, then their errors. */
async function trainSteps(k: number): Promise<void> {
  const losses = await Promise.all(runs.map((r) => r.net.train(k)));
  losses.forEach((l, i) => runs[i]?.state.losses.push(...l));
  state.step += k;
  await evaluateAll();
}

/** One training frame per display refresh; a hidden tab gets none, so training waits there. */
function nextFrame(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => done()));
}

async function trainLoop(): Promise<void> {
  let lastView = performance.now();
  while (running) {
    await trainSteps(settings.stepsPerFrame);
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
  if (running || runs.length === 0) return;
  delete errors.action.toggle;
  showErrors();
  running = true;
  setStatus('training', 'Training...');
  loop = trainLoop().catch((e: unknown) => fail('toggle', e));
}

async function pause(): Promise<void> {
  running = false;
  await loop;
}

/** Exactly one optimizer step while paused, then every picture and counter from it. */
async function stepOnce(): Promise<void> {
  if (running || runs.length === 0) return;
  delete errors.action.step;
  // Not 'paused' until the step's losses and pictures are all in: the counter moves first.
  setStatus('training', 'One step...');
  await trainSteps(1);
  await refreshViews();
  setStatus('paused', `Paused after step ${state.step} (one step).`);
}

/** Builds fresh networks for `next` unless the current ones can keep training; updates the URL. */
async function apply(next: Settings): Promise<void> {
  writeUrl(next);
  if (runs.length === 0 || !sameNetwork(settings, next)) return rebuild(next);
  settings = next;
  await refreshViews(); // the focused optimizer may have changed
  renderTraining(state, focus());
}

/**
 * A changed field: a new dataset first moves the settings to it (see switchDataset), then the
 * form is read; a bad field keeps its current value and shows why beside it.
 */
async function changed(name: string): Promise<void> {
  delete errors.link[name];
  const kind = readForm(settings).settings.dataset;
  if (name === 'dataset' && kind !== settings.dataset) {
    fillForm(switchDataset(settings, kind));
    errors.link = {}; // the link's bad values stood in for defaults, which now follow the dataset
  }
  const read = readForm(settings);
  errors.form = read.errors;
  delete errors.action.settings;
  showErrors();
  await apply(read.settings);
}

function wire(): void {
  ui.toggle.addEventListener('click', () =>
    serially('toggle', async () => (running ? pause() : start())),
  );
  ui.step.addEventListener('click', () => serially('step', stepOnce));
  ui.reset.addEventListener('click', () => serially('reset', () => rebuild(settings)));
  ui.xorPreset.addEventListener('click', () =>
    serially('preset-xor', async () => {
      const next: Settings = { ...withDefaults(settings, 'xor'), mode: 'single' };
      [errors.link, errors.form] = [{}, {}];
      fillForm(next);
      showErrors();
      writeUrl(next);
      await rebuild(next);
    }),
  );
  ui.form.addEventListener('submit', (e) => e.preventDefault());
  ui.form.addEventListener('change', (e) => {
    const name = e.target instanceof HTMLElement ? (e.target.getAttribute('name') ?? '') : '';
    serially('settings', () => changed(name));
  });
}

async function boot(): Promise<void> {
  const autostart = new URLSearchParams(location.search).get('autostart') === '1';
  // A bad parameter keeps its default and is named beside its field; the rest of the link holds.
  const link = settingsFromQuery(location.search);
  settings = link.settings;
  errors.link = link.errors;
  fillForm(settings);
  showErrors();
  gpu = await openGpu(
    { banner: ui.noWebgpu, adapter: ui.adapter },
    'the playground cannot train here',
  );
  if (!gpu) return setStatus('no-webgpu', 'WebGPU is not available.');
  state.adapter = gpu.adapter;
  void gpu.lost.then((e) => {
    running = false;
    showBanner(state, e);
    setStatus('error', 'The GPU device was lost: reload the page.');
  });
  wire();
  writeUrl(settings);
  await rebuild(settings);
  if (autostart) start();
}

boot().catch((e: unknown) => fail('settings', e));
