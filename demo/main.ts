/**
 * The live training demo: pick a dataset and the architecture knobs, train on the GPU and watch
 * the loss and accuracy curves, the first-layer filters and a confusion matrix; draw a digit to
 * see the class probabilities; save and load safetensors checkpoints. Everything comes from the
 * public API (./api.ts). URL parameters preset the form (see options.ts); `steps=N` pauses after
 * N steps and `autostart=1` starts at once (for tests).
 */
import './style.css';
import {
  encodeGrayPng,
  filterGrid,
  limitDataset,
  loadModel,
  modelBytes,
  parseTrainConfig,
  readSafetensors,
  type DatasetSplit,
  type Gpu,
  type TrainConfig,
} from './api';
import { imageOf, loadDataset } from './data';
import { DrawingPad } from './digit';
import {
  optionsFromConfig,
  optionsToParams,
  parseOptions,
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
import { TrainingSession, type StepStats } from './session';
import { download, renderTraining, showError, ui, type DemoState } from './view';
import { openGpu } from './page';

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

let gpu: Gpu;
let options: DemoOptions;
let data: DatasetSplit;
let session: TrainingSession | undefined;
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
  renderTraining(state, epochFraction, session?.config.batchSize ?? options.batch);
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

function fillForm(o: DemoOptions): void {
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
}

/** Stops training and throws the network away, then builds one for `config`. */
async function rebuild(config: TrainConfig): Promise<void> {
  session?.pause();
  await loop;
  session?.destroy();
  session = undefined;
  Object.assign(state, { step: 0, epoch: 1, losses: [], accuracies: [], testAccuracy: [] });
  Object.assign(state, { samplesPerSecond: 0, confusion: undefined, probabilities: undefined });
  epochFraction = 0;
  renderModel(ui.model, config.model);
  setStatus('loading', 'Loading the dataset...');
  data = await loadDataset(config.dataset, (m) => setStatus('loading', m));
  const train = config.limit !== undefined ? limitDataset(data.train, config.limit) : data.train;
  setStatus('loading', 'Compiling the training step...');
  session = await TrainingSession.create(gpu, config, train);
  state.memory = session.memory;
  renderMemory(ui.memory, session.memory);
  await refreshViews(false);
  setStatus('ready', `Ready: ${train.count} training images, batch ${config.batchSize}.`);
}

/** Filters, probabilities of the current input and (optionally) the confusion matrix. */
async function refreshViews(withConfusion: boolean): Promise<void> {
  if (!session) return;
  const first = await session.firstLayer();
  if (first.shape.length === 4) drawFilters(ui.filters, first.weights, first.shape);
  await predictInput();
  if (withConfusion) await evaluate();
}

async function evaluate(): Promise<void> {
  if (!session) return;
  const m = await session.confusion(data.test, options.testSubset);
  state.confusion = { counts: Array.from(m.counts), accuracy: m.accuracy, total: m.total };
  state.testAccuracy.push([state.step, m.accuracy]);
  renderConfusion(ui.confusion, m, classNames());
  scheduleRender();
}

async function predictInput(): Promise<void> {
  if (!session || !input) return;
  const probs = await session.predict(input, 1);
  state.probabilities = Array.from(probs);
  state.predictions++;
  renderProbabilities(ui.probabilities, probs, classNames());
}

function onStep(s: StepStats): boolean {
  state.step = s.step;
  state.epoch = s.epoch;
  state.losses.push(s.loss);
  state.accuracies.push(s.accuracy);
  state.samplesPerSecond = s.samplesPerSecond;
  epochFraction = s.epochStep / s.epochSteps;
  if (s.step % FILTERS_EVERY === 0) void refreshViews(false).catch(fail);
  if (s.step % EVAL_EVERY === 0) void evaluate().catch(fail);
  scheduleRender();
  return !(options.stopAfter > 0 && s.step === options.stopAfter);
}

function start(): void {
  const s = session;
  if (!s || s.isRunning) return;
  setStatus('training', 'Training...');
  loop = s
    .run(onStep)
    .then(async () => {
      setStatus('training', 'Pausing: evaluating the test subset...');
      await refreshViews(true);
      setStatus('paused', `Paused after step ${state.step}.`);
    })
    .catch(fail);
}

function fail(e: unknown): void {
  showError(state, e);
  setStatus('error', 'Stopped by an error (see above).');
}

async function save(firstLayerOnly: boolean): Promise<void> {
  if (!session) return;
  const s = session;
  const meta = { 'shadergrad.config': JSON.stringify(s.config), step: String(state.step) };
  const first = await s.firstLayer();
  const layer = first.name.split('.')[0] ?? first.name;
  const only = firstLayerOnly ? (n: string) => n.startsWith(`${layer}.`) : undefined;
  const bytes = await s.exclusive(() => modelBytes(s.trainer, meta, only));
  const type = 'application/octet-stream';
  download(bytes, firstLayerOnly ? `${layer}.safetensors` : 'model.safetensors', type);
  if (firstLayerOnly && first.shape.length === 4) {
    const grid = filterGrid(first.weights, first.shape);
    download(encodeGrayPng(grid.pixels, grid.width, grid.height), `${layer}.png`, 'image/png');
  }
}

/** Loads a checkpoint; one saved for another architecture rebuilds the network first. */
async function load(file: File): Promise<void> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const saved = readSafetensors(bytes, file.name).metadata['shadergrad.config'];
  const config = saved ? parseTrainConfig(JSON.parse(saved), `${file.name} metadata`) : undefined;
  if (config && JSON.stringify(config.model) !== JSON.stringify(session?.config.model)) {
    options = optionsFromConfig(config, options) ?? options;
    fillForm(options);
    await rebuild({ ...config, ...(options.limit !== undefined ? { limit: options.limit } : {}) });
  }
  const s = session;
  if (!s) return;
  await s.exclusive(() => Promise.resolve(loadModel(s.trainer, bytes, file.name)));
  state.loaded = file.name;
  await refreshViews(true);
  if (!s.isRunning) setStatus(state.status, `Loaded ${file.name}.`);
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
  ui.toggle.addEventListener('click', () => (session?.isRunning ? session.pause() : start()));
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
      ui.error.hidden = true;
      await rebuild(trainConfigOf(options));
    })().catch(fail);
  });
}

async function boot(): Promise<void> {
  options = parseOptions(new URLSearchParams(location.search));
  fillForm(options);
  const found = await openGpu(
    { banner: ui.noWebgpu, adapter: ui.adapter },
    'this demo cannot train here',
  );
  if (!found) return setStatus('no-webgpu', 'WebGPU is not available.');
  gpu = found;
  state.adapter = gpu.adapter;
  void gpu.lost.then((e) => fail(e));
  wire();
  await rebuild(trainConfigOf(options));
  if (options.autostart) start();
}

boot().catch(fail);
