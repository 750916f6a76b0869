/**
 * The live training demo: pick a dataset and the architecture knobs, train on the GPU and watch
 * the loss and accuracy curves, the first-layer filters and a confusion matrix; draw a digit to
 * see the class probabilities; save and load safetensors checkpoints. Everything comes from the
 * public API (./api.ts). Training runs in a dedicated worker (trainWorker.ts, driven through
 * TrainerWorker), so the page's main thread only renders and never stalls on a step. URL
 * parameters preset the form (see options.ts); `steps=N` pauses after N steps and `autostart=1`
 * starts at once (for tests). A comparison (`compare=skip|bn`) trains the resnet twice in the
 * same worker, one run after the other on the same data and seed, and charts both.
 */
import './style.css';
import {
  type TrainerWorker,
  encodeGrayPng,
  filterGrid,
  parseTrainConfig,
  readSafetensors,
  type DatasetName,
  type DatasetSplit,
  type TrainConfig,
  type TrainProgress,
  type WorkerModel,
} from './api';
import { imageOf, loadDataset } from './data';
import { DrawingPad } from './digit';
import {
  optionsFromConfig,
  padTitle,
  parseOptions,
  plannedRuns,
  trainConfigOf,
  type DemoOptions,
} from './options';
import {
  drawFilters,
  renderConfusion,
  renderModel,
  renderMemory,
  renderProbabilities,
} from './panels';
import {
  download,
  fillForm,
  renderTraining,
  showError,
  showModelKnobs,
  ui,
  type DemoState,
} from './view';
import { openTrainerWorker } from './trainer';

/** Steps between automatic confusion-matrix updates and filter redraws while training. */
const EVAL_EVERY = 200;
const FILTERS_EVERY = 20;

const state: DemoState = {
  status: 'starting',
  message: 'Starting...',
  step: 0,
  epoch: 1,
  losses: [],
  accuracies: [],
  testAccuracy: [],
  samplesPerSecond: 0,
  predictions: 0,
};
(window as unknown as { shadergradDemo: DemoState }).shadergradDemo = state;

let worker: TrainerWorker;
let options: DemoOptions;
let data: DatasetSplit;
/** The network in the worker, and which dataset the worker holds. */
let model: WorkerModel | undefined;
let sent: DatasetName | undefined;
/** The runs to train (two for a comparison) and the index of the one the worker holds. */
let plan: { label: string; config: TrainConfig }[] = [];
let current = 0;
/**
 * The training loop's state: a click on the toggle starts an idle run and pauses a running one;
 * while pausing (until the worker's train() has ended and the views are refreshed) it does
 * nothing, so a second click can never start another run.
 */
let run: 'idle' | 'running' | 'pausing' = 'idle';
let loop: Promise<void> = Promise.resolve();
let input: Float32Array | undefined;
let testIndex = -1;
let epochFraction = 0;
let renderPending = false;

function setStatus(status: DemoState['status'], message: string): void {
  state.status = status;
  state.message = message;
  render();
}

function render(): void {
  renderTraining(state, epochFraction, model?.config.batchSize ?? options.batch, run === 'pausing');
}

/** Redraws at most every 100 ms while training. */
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    render();
  }, 100);
}

function classNames(): readonly string[] {
  return data.test.classNames ?? [];
}

/** Asks a running loop to stop after the step in flight. */
function pause(): void {
  if (run !== 'running') return;
  run = 'pausing';
  setStatus('training', 'Pausing after the step in flight...');
  void worker.pause().catch(fail);
}

/** The runs `o` asks for, each with its config (so a model that cannot run fails up front). */
function planOf(o: DemoOptions): typeof plan {
  return plannedRuns(o).map((r) => ({ label: r.label, config: trainConfigOf(r.options) }));
}

/** Points the state's curves at the current run's (fresh ones for a single run). */
function resetRun(): void {
  const curves = state.runs?.[current] ?? { losses: [], accuracies: [], testAccuracy: [] };
  const { losses, accuracies, testAccuracy } = curves;
  Object.assign(state, { step: 0, epoch: 1, losses, accuracies, testAccuracy });
  Object.assign(state, { samplesPerSecond: 0, confusion: undefined, probabilities: undefined });
  epochFraction = 0;
}

/** Stops training and throws the network away, then builds the first of `runs`. */
async function rebuild(runs: typeof plan): Promise<void> {
  pause();
  await loop;
  model = undefined;
  [plan, current] = [runs, 0];
  const config = runs[0]?.config;
  if (!config) return;
  const curves = runs.map((r) => ({
    label: r.label,
    losses: [],
    accuracies: [],
    testAccuracy: [],
  }));
  state.runs = runs.length > 1 ? curves : undefined;
  resetRun();
  renderModel(ui.model, config.model, runs.length > 1 ? `run 1, ${runs[0]?.label}` : undefined);
  setStatus('loading', 'Loading the dataset...');
  data = await loadDataset(config.dataset, (m) => setStatus('loading', m));
  ui.padTitle.textContent = padTitle(config.dataset);
  if (sent !== config.dataset) {
    setStatus('loading', 'Handing the dataset to the training worker...');
    // The worker gets its own copy of the training images (transferred, not cloned); the page
    // keeps the test split to show test images.
    const train = { ...data.train, images: data.train.images.slice() };
    await worker.setData({ train }, { transfer: true });
    await worker.setData({ test: data.test });
    sent = config.dataset;
  }
  setStatus('loading', 'Compiling the training step...');
  await build(config);
  const count = Math.min(data.train.count, config.limit ?? Infinity);
  const runsNote = runs.length > 1 ? `, ${runs.length} runs of ${options.stopAfter} steps` : '';
  setStatus('ready', `Ready: ${count} training images, batch ${config.batchSize}${runsNote}.`);
}

/** A fresh network for `config` in the worker (which keeps its data), with its read-outs. */
async function build(config: TrainConfig): Promise<void> {
  model = await worker.create(config);
  state.memory = model.memory;
  renderMemory(ui.memory, model.memory);
  await refreshViews(false);
}

/**
 * Ends the comparison's current run with a test evaluation (its final test accuracy) and builds
 * the next run's network: same data, seed and step count, so only the compared switch differs.
 */
async function nextRun(): Promise<void> {
  await evaluate();
  const next = plan[current + 1];
  if (!next) return;
  current++;
  resetRun();
  renderModel(ui.model, next.config.model, `run ${current + 1}, ${next.label}`);
  setStatus('training', `Compiling run ${current + 1}, ${next.label}...`);
  await build(next.config);
  setStatus('training', `Training run ${current + 1}, ${next.label}...`);
}

/** Filters, probabilities of the current input and (optionally) the confusion matrix. */
async function refreshViews(withConfusion: boolean): Promise<void> {
  const first = model?.parameters[0];
  if (!first) return;
  const weights = await worker.parameter(first.name);
  if (first.shape.length === 4) drawFilters(ui.filters, weights, first.shape);
  await predictInput();
  if (withConfusion) await evaluate();
}

async function evaluate(): Promise<void> {
  if (!model) return;
  const m = await worker.evaluate(options.testSubset);
  state.confusion = { counts: Array.from(m.counts), accuracy: m.accuracy, total: m.total };
  state.testAccuracy.push([state.step, m.accuracy]);
  renderConfusion(ui.confusion, m, classNames());
  scheduleRender();
}

async function predictInput(): Promise<void> {
  if (!model || !input) return;
  const probs = await worker.predict(input, 1);
  state.probabilities = Array.from(probs);
  state.predictions++;
  renderProbabilities(ui.probabilities, probs, classNames());
}

function onStep(s: TrainProgress): void {
  state.step = s.step;
  state.epoch = s.epoch;
  state.losses.push(s.loss);
  state.accuracies.push(s.accuracy);
  state.samplesPerSecond = s.samplesPerSecond;
  epochFraction = s.epochStep / s.epochSteps;
  // Asked for between steps, answered by the worker between two of its steps.
  if (s.step % FILTERS_EVERY === 0) void refreshViews(false).catch(fail);
  if (s.step % EVAL_EVERY === 0) void evaluate().catch(fail);
  scheduleRender();
}

/**
 * Trains the run the worker holds and, in a comparison, each following run once the one before
 * has done its steps. `steps=N` ends each run at step N; the last one then trains on, when
 * resumed, until paused. A pause (even between runs) returns; a resume carries on from there.
 */
async function trainRuns(): Promise<void> {
  for (;;) {
    if (current < plan.length - 1 && state.step >= options.stopAfter) {
      await nextRun();
      if (run !== 'running') return;
    }
    const left = options.stopAfter - state.step;
    await worker.train(left > 0 ? { steps: left } : {}, onStep);
    if (run !== 'running' || current >= plan.length - 1) return;
  }
}

function start(): void {
  if (run !== 'idle' || !model) return;
  run = 'running';
  setStatus('training', state.runs ? `Training run ${current + 1}...` : 'Training...');
  loop = trainRuns()
    .then(async () => {
      run = 'pausing';
      setStatus('training', 'Pausing: evaluating the test subset...');
      await refreshViews(true);
      run = 'idle';
      const done = state.runs && current === plan.length - 1 && state.step >= options.stopAfter;
      setStatus('paused', done ? 'Comparison done.' : `Paused after step ${state.step}.`);
    })
    .catch((e: unknown) => {
      run = 'idle';
      fail(e);
    });
}

function fail(e: unknown): void {
  showError(state, e);
  setStatus('error', 'Stopped by an error (see above).');
}

async function save(firstLayerOnly: boolean): Promise<void> {
  const first = model?.parameters[0];
  if (!model || !first) return;
  const meta = { 'shadergrad.config': JSON.stringify(model.config), step: String(state.step) };
  const layer = first.name.split('.')[0] ?? first.name;
  const names = model.parameters.map((p) => p.name).filter((n) => n.startsWith(`${layer}.`));
  const bytes = await worker.saveWeights(meta, firstLayerOnly ? names : undefined);
  const type = 'application/octet-stream';
  download(bytes, firstLayerOnly ? `${layer}.safetensors` : 'model.safetensors', type);
  if (firstLayerOnly && first.shape.length === 4) {
    const grid = filterGrid(await worker.parameter(first.name), first.shape);
    download(encodeGrayPng(grid.pixels, grid.width, grid.height), `${layer}.png`, 'image/png');
  }
}

/** Loads a checkpoint; one saved for another architecture rebuilds the network first. */
async function load(file: File): Promise<void> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const saved = readSafetensors(bytes, file.name).metadata['shadergrad.config'];
  const config = saved ? parseTrainConfig(JSON.parse(saved), `${file.name} metadata`) : undefined;
  if (config && JSON.stringify(config.model) !== JSON.stringify(model?.config.model)) {
    options = optionsFromConfig(config, options) ?? { ...options, compare: 'none' };
    fillForm(options);
    const limit = options.limit !== undefined ? { limit: options.limit } : {};
    await rebuild([{ label: 'checkpoint', config: { ...config, ...limit } }]);
  }
  if (!model) return;
  await worker.loadWeights(bytes, file.name);
  state.loaded = file.name;
  await refreshViews(true);
  if (run === 'idle') setStatus(state.status, `Loaded ${file.name}.`);
}

function showTestImage(): void {
  testIndex = (testIndex + 1) % data.test.count;
  input = imageOf(data.test, testIndex);
  pad.show(input);
  const label = data.test.labels[testIndex] ?? 0;
  ui.inputNote.textContent = `Test image #${testIndex}, labelled ${classNames()[label] ?? label}.`;
  void predictInput().catch(fail);
}

const pad = new DrawingPad(ui.pad, (image) => {
  input = image;
  ui.inputNote.textContent = 'Your drawing, centred and scaled to 28x28 like MNIST.';
  void predictInput().catch(fail);
});

function wire(): void {
  ui.modelChoice.addEventListener('change', showModelKnobs);
  ui.toggle.addEventListener('click', () => (run === 'running' ? pause() : start()));
  ui.evaluate.addEventListener('click', () => void evaluate().catch(fail));
  ui.clear.addEventListener('click', () => {
    pad.clear();
    input = undefined;
    state.probabilities = undefined;
    ui.probabilities.replaceChildren();
  });
  ui.nextTest.addEventListener('click', showTestImage);
  ui.saveModel.addEventListener('click', () => void save(false).catch(fail));
  ui.saveFirst.addEventListener('click', () => void save(true).catch(fail));
  ui.load.addEventListener('change', () => {
    const file = ui.load.files?.[0];
    if (file) void load(file).catch(fail);
    ui.load.value = '';
  });
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    new FormData(ui.form).forEach((v, k) => {
      if (typeof v === 'string') params.set(k, v);
    });
    void (async () => {
      options = parseOptions(params);
      fillForm(options); // shows what the parser made of it, e.g. a comparison's default steps
      ui.error.hidden = true;
      await rebuild(planOf(options));
    })().catch(fail);
  });
}

async function boot(): Promise<void> {
  options = parseOptions(new URLSearchParams(location.search));
  fillForm(options);
  const opened = await openTrainerWorker({ banner: ui.noWebgpu, adapter: ui.adapter });
  if (!opened) return setStatus('no-webgpu', 'WebGPU is not available.');
  [worker, state.adapter] = [opened.worker, opened.adapter];
  void worker.lost.then((e) => fail(e));
  wire();
  await rebuild(planOf(options));
  if (options.autostart) start();
}

boot().catch(fail);
