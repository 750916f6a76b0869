/**
 * The live training demo: pick a dataset and the architecture knobs, train on the GPU and watch
 * the loss and accuracy curves, the first-layer filters and a confusion matrix; draw a digit to
 * see the class probabilities; save and load safetensors checkpoints. Everything comes from the
 * public API (./api.ts). Training runs in a dedicated worker (trainWorker.ts, driven through
 * TrainerWorker), so the page's main thread only renders and never stalls on a step. URL
 * parameters preset the form (see options.ts); `steps=N` pauses after N steps and `autostart=1`
 * starts at once (for tests). A comparison (`compare=skip|bn`) trains the resnet twice in the
 * same worker, one run after the other on the same data and seed, and charts both.
 *
 * Train, pause, resume, a new network and a checkpoint load are events of the run's state
 * machine (runState.ts): `dispatch` ignores what the current phase refuses (a second Pause while
 * pausing), and the controls render from that state. An error shows beside the control that
 * caused it and leaves the run usable; only a lost device stops the page.
 */
import './style.css';
import './demo.css';
import type { TrainConfig, TrainProgress } from './api';
import { readCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint';
import { imageOf } from './data';
import { DrawingPad } from './digit';
import { DemoNetwork, settingsOf, type Settings } from './network';
import {
  optionsFromConfig,
  parseOptions,
  SOFTWARE_DEFAULTS,
  withSoftwareDefaults,
  type DemoOptions,
} from './options';
import {
  controls,
  initialRunState,
  statusOf,
  transition,
  type Control,
  type LoadedNetwork,
  type RunEvent,
} from './runState';
import { openTrainerWorker } from './trainer';
import { fillForm, messageOf, renderTraining, showModelKnobs, ui, type DemoState } from './view';

/** Steps between automatic confusion-matrix updates and filter redraws while training. */
const EVAL_EVERY = 200;
const FILTERS_EVERY = 20;

const state: DemoState = {
  run: initialRunState,
  status: 'starting',
  message: 'Starting...',
  step: 0,
  epoch: 1,
  losses: [],
  accuracies: [],
  testAccuracy: [],
  samplesPerSecond: 0,
  epochFraction: 0,
  predictions: 0,
};
(window as unknown as { shadergradDemo: DemoState }).shadergradDemo = state;

/** The settings before the worker is open (the form shows them), then the network's. */
let settings: DemoOptions;
let net: DemoNetwork | undefined;
/** The training loop in flight; it never rejects, and a rebuild waits for it to settle. */
let loop: Promise<void> = Promise.resolve();
let testIndex = -1;
let renderPending = false;

/**
 * Applies `event` to the run's state and renders; false, with nothing changed, when the current
 * phase ignores it. `message` becomes the status line when the event is taken.
 */
function dispatch(event: RunEvent, message?: string): boolean {
  const next = transition(state.run, event);
  if (!next) return false;
  state.run = next;
  state.status = statusOf(next.phase);
  if ('error' in event) state.error = event.error;
  if (message !== undefined) state.message = message;
  render();
  return true;
}

/** Shows `e` beside `control`; the phase stays as it is. */
function report(control: Control, e: unknown): void {
  dispatch({ type: 'failed', control, error: messageOf(e) });
}

/** Runs `work` in the background; its error shows beside `control`. */
function background(control: Control, work: Promise<unknown>): void {
  void work.catch((e: unknown) => report(control, e));
}

/** A new status line in the same phase. */
function say(message: string): void {
  state.message = message;
  render();
}

function render(): void {
  renderTraining(state, net?.model?.config.batchSize ?? (net?.options ?? settings).batch);
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

/** Asks a running loop to stop after the step in flight; ignored unless training. */
function pause(n: DemoNetwork): void {
  if (dispatch({ type: 'pause' }, 'Pausing after the step in flight...'))
    background('toggle', n.worker.pause());
}

/** Trains from ready or paused; ignored in any other phase (a click while pausing, say). */
function start(n: DemoNetwork): void {
  const message = state.runs ? `Training run ${n.current + 1}...` : 'Training...';
  if (!dispatch({ type: 'train' }, message)) return;
  loop = n
    .train(() => state.run.phase === 'training', onStep(n))
    .then(
      () => settle(n),
      (e: unknown) => {
        const stopped = `Stopped at step ${state.step} by an error.`;
        dispatch({ type: 'trainFailed', error: messageOf(e) }, stopped);
      },
    )
    .catch((e: unknown) => report('toggle', e));
}

function onStep(n: DemoNetwork): (s: TrainProgress) => void {
  return (s) => {
    Object.assign(state, { step: s.step, epoch: s.epoch, samplesPerSecond: s.samplesPerSecond });
    state.losses.push(s.loss);
    state.accuracies.push(s.accuracy);
    state.epochFraction = s.epochStep / s.epochSteps;
    // Asked for between steps, answered by the worker between two of its steps.
    if (s.step % FILTERS_EVERY === 0) background('toggle', n.refreshViews(false));
    if (s.step % EVAL_EVERY === 0) background('toggle', n.evaluate());
    scheduleRender();
  };
}

/** The worker has stopped: the views are refreshed (with the confusion matrix), then paused. */
async function settle(n: DemoNetwork): Promise<void> {
  dispatch({ type: 'stopped' }, 'Pausing: evaluating the test subset...');
  await n.refreshViews(true).catch((e: unknown) => report('toggle', e));
  const paused = n.comparisonDone() ? 'Comparison done.' : `Paused after step ${state.step}.`;
  dispatch({ type: 'settled' }, paused);
}

/**
 * Pauses training and waits until it has settled (the loop still reads the old options), then
 * builds the first of the runs `wanted` asks for.
 */
async function rebuild(n: DemoNetwork, wanted: Settings): Promise<void> {
  pause(n);
  await loop;
  if (!dispatch({ type: 'build' })) return;
  n.options = wanted.options;
  fillForm(n.options); // shows what the parser made of it, e.g. a comparison's default steps
  try {
    await n.build(wanted.runs);
    dispatch({ type: 'built' }, n.readyMessage());
  } catch (e) {
    dispatch({ type: 'buildFailed', error: messageOf(e) }, 'No network: it could not be built.');
  }
}

/** "New network": settings that cannot run show their error beside the button, nothing else. */
function submitSettings(n: DemoNetwork): void {
  if (!controls(state.run).build) return;
  const params = new URLSearchParams();
  new FormData(ui.form).forEach((v, k) => {
    if (typeof v === 'string') params.set(k, v);
  });
  let wanted: Settings;
  try {
    wanted = settingsOf(params);
  } catch (e) {
    return report('build', e);
  }
  void rebuild(n, wanted);
}

/**
 * Loads a checkpoint (ignored while training). One saved for another architecture builds that
 * network first; a bad file changes nothing, and its error shows beside Load.
 */
async function load(n: DemoNetwork, file: File): Promise<void> {
  const before = state.message;
  if (!dispatch({ type: 'load' }, `Loading ${file.name}...`)) return;
  let network: LoadedNetwork = 'kept';
  try {
    const checkpoint = await readCheckpoint(file);
    if (checkpoint.config && differs(n, checkpoint.config)) {
      network = 'none';
      await buildFor(n, checkpoint.config);
      network = 'fresh';
    }
    await loadWeights(n, checkpoint);
  } catch (e) {
    const message = { kept: before, fresh: n.readyMessage(), none: 'No network.' }[network];
    dispatch({ type: 'loadFailed', network, error: messageOf(e) }, message);
    return;
  }
  dispatch({ type: 'loaded', network }, `Loaded ${file.name}.`);
  background('evaluate', n.refreshViews(true));
}

/** True when `config` is for another architecture than the network's (or there is none). */
function differs(n: DemoNetwork, config: TrainConfig): boolean {
  return JSON.stringify(config.model) !== JSON.stringify(n.model?.config.model);
}

/** Makes the network a checkpoint was saved from, and shows its settings in the form. */
async function buildFor(n: DemoNetwork, config: TrainConfig): Promise<void> {
  n.options = optionsFromConfig(config, n.options) ?? { ...n.options, compare: 'none' };
  fillForm(n.options);
  const limit = n.options.limit !== undefined ? { limit: n.options.limit } : {};
  await n.build([{ label: 'checkpoint', config: { ...config, ...limit } }]);
}

async function loadWeights(n: DemoNetwork, checkpoint: Checkpoint): Promise<void> {
  if (!n.model) throw new Error('there is no network to load it into: make one with the form');
  // The worker checks every name and shape before it writes any, so a mismatch changes nothing.
  await n.worker.loadWeights(checkpoint.bytes, checkpoint.name);
  state.loaded = checkpoint.name;
}

function save(n: DemoNetwork, firstLayerOnly: boolean): void {
  dispatch({ type: 'clear', control: 'save' });
  if (n.model) background('save', saveCheckpoint(n.worker, n.model, state.step, firstLayerOnly));
}

/** Shows `image` (a drawing or a test image) and its class probabilities. */
function predict(n: DemoNetwork, image: Float32Array, note: string): void {
  dispatch({ type: 'clear', control: 'predict' });
  n.input = image;
  ui.inputNote.textContent = note;
  background('predict', n.predictInput());
}

function showTestImage(n: DemoNetwork, pad: DrawingPad): void {
  const test = n.data?.test;
  if (!test) return;
  testIndex = (testIndex + 1) % test.count;
  const image = imageOf(test, testIndex);
  pad.show(image);
  const label = test.labels[testIndex] ?? 0;
  predict(n, image, `Test image #${testIndex}, labelled ${n.classNames()[label] ?? label}.`);
}

function wire(n: DemoNetwork): void {
  const pad = new DrawingPad(ui.pad, (image) =>
    predict(n, image, 'Your drawing, centred and scaled to 28x28 like MNIST.'),
  );
  ui.toggle.addEventListener('click', () => (state.run.phase === 'training' ? pause(n) : start(n)));
  ui.evaluate.addEventListener('click', () => {
    dispatch({ type: 'clear', control: 'evaluate' });
    background('evaluate', n.evaluate());
  });
  ui.clear.addEventListener('click', () => {
    pad.clear();
    n.input = undefined;
    state.probabilities = undefined;
    ui.probabilities.replaceChildren();
  });
  ui.nextTest.addEventListener('click', () => showTestImage(n, pad));
  ui.saveModel.addEventListener('click', () => save(n, false));
  ui.saveFirst.addEventListener('click', () => save(n, true));
  ui.load.addEventListener('change', () => {
    const file = ui.load.files?.[0];
    ui.load.value = '';
    if (file) void load(n, file);
  });
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitSettings(n);
  });
}

/** The settings and runs of `params`, or the defaults and why `params` cannot be used. */
function urlSettings(
  params = new URLSearchParams(location.search),
): Settings | { options: DemoOptions; error: string } {
  try {
    return settingsOf(params);
  } catch (e) {
    return { options: parseOptions(new URLSearchParams()), error: messageOf(e) };
  }
}

/** On a software adapter, the URL's settings with the smaller default sizes, and a note why. */
function sizedForSoftware(): Settings | undefined {
  const sized = withSoftwareDefaults(new URLSearchParams(location.search));
  const smaller = sized && urlSettings(sized);
  if (!smaller || 'error' in smaller) return undefined;
  const { features, dense, batch } = SOFTWARE_DEFAULTS;
  ui.adapterNote.textContent =
    `A software adapter: the default network is smaller (conv features ${features}, dense ` +
    `${dense}, batch ${batch}) so training shows within seconds. The course's reference CNN is ` +
    'conv features 32,64, dense 1024, batch 64; set them below (expect seconds per step).';
  ui.adapterNote.hidden = false;
  return smaller;
}

async function boot(): Promise<void> {
  let wanted = urlSettings();
  settings = wanted.options;
  fillForm(settings);
  ui.modelChoice.addEventListener('change', showModelKnobs);
  const opened = await openTrainerWorker({ banner: ui.noWebgpu, adapter: ui.adapter });
  if (!opened) return void dispatch({ type: 'noWebgpu' }, 'WebGPU is not available.');
  state.adapter = opened.adapter;
  const software =
    opened.adapter.isSoftware && !('error' in wanted) ? sizedForSoftware() : undefined;
  if (software) {
    wanted = software;
    settings = software.options;
    fillForm(settings);
  }
  const n = new DemoNetwork(opened.worker, state, settings, say, scheduleRender);
  net = n;
  void n.worker.lost.then((e) =>
    dispatch({ type: 'fatal', error: `${e.message} Reload the page.` }, 'The GPU is lost.'),
  );
  wire(n);
  if ('error' in wanted) {
    // Nothing to build: the form is usable, with the error beside its button.
    dispatch({ type: 'build' });
    const error = `Bad URL parameter: ${wanted.error}`;
    return void dispatch({ type: 'buildFailed', error }, 'No network: fix the settings.');
  }
  await rebuild(n, wanted);
  if (settings.autostart) start(n);
}

boot().catch((e: unknown) => dispatch({ type: 'fatal', error: messageOf(e) }, 'Stopped.'));
