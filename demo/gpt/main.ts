/**
 * The transformer page: a character-level GPT (CharGpt) learns a text live in the page's main
 * thread: Genesis by default, or a text the user pastes or opens. Training runs in short chunks
 * of steps, each submitted without waiting and ended by one loss read, with a return to the event
 * loop between chunks, so the page stays responsive. It charts the training and validation loss
 * and tokens/s, generates text from a prompt every `sampleEvery` steps (and on the button),
 * streaming each character as it is drawn, and draws each layer's and head's attention over the
 * prompt after each generation. URL parameters use the forms' field names
 * (?context=16&width=16&layers=1&batch=8&steps=40&autostart=1).
 */
import '../style.css';
import './gpt.css';
import genesis from '../../texts/genesis.txt?raw';
import type { Gpu } from '../api';
import { openGpu } from '../page';
import { drawAttention } from './attention';
import {
  defaultFields,
  parseModel,
  parseSample,
  prepareText,
  promptFor,
  unreadable,
  type ModelOptions,
  type PreparedText,
} from './options';
import { GptSession } from './session';
import {
  fieldOf,
  initialState,
  renderControls,
  renderTraining,
  setField,
  showError,
  showMessage,
  ui,
  type GptPageState,
  type GptStatus,
} from './view';

/** Steps per chunk: a loss read waits for the GPU, so only every READ_EVERY-th step reads one. */
const READ_EVERY = 5;

const params = new URLSearchParams(location.search);
const state = initialState();
(window as unknown as { shadergradGpt: GptPageState }).shadergradGpt = state;

let session: GptSession | undefined;
let running = false;
let loop: Promise<void> = Promise.resolve();
/** Rebuilds run one after another. */
let builds: Promise<void> = Promise.resolve();
/** The step at which training pauses by itself; 0 = never. */
let stopAt = 0;
/** Time spent in training steps since the model was built (not validating or generating). */
let trainedMs = 0;

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function setStatus(status: GptStatus, message: string): void {
  state.status = status;
  state.message = message;
  renderControls(state, session !== undefined);
}

function fail(e: unknown): void {
  running = false;
  showError(state, e);
  setStatus('error', 'Stopped by an error (see above).');
}

/** Lets the page handle input and paint between two chunks of GPU work. */
const yieldToPage = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function refuse(message: string): void {
  state.invalid = message;
  showMessage(ui.message, message);
  if (!session) setStatus('invalid', 'Not built: see the message below the settings.');
}

/** The model settings and the text, checked; undefined (with the message shown) when refused. */
function readSettings(): { options: ModelOptions; text: PreparedText; source: string } | undefined {
  try {
    const options = parseModel((name) => fieldOf(ui.settings, name));
    const source = ui.corpus.value === 'own' ? ui.ownText.value : genesis;
    return { options, text: prepareText(source, options.context), source };
  } catch (e) {
    refuse(messageOf(e));
    return undefined;
  }
}

/** Stops training (after the chunk in flight) and throws the model away; builds the form's. */
async function build(device: Gpu): Promise<void> {
  const settings = readSettings();
  if (!settings) return;
  const { options, text, source } = settings;
  state.invalid = '';
  showMessage(ui.message, '');
  showMessage(ui.sampleMessage, ''); // about the model thrown away
  setStatus('building', 'Compiling the model...'); // buttons off until the new model is there
  running = false;
  await loop;
  await session?.destroy();
  session = undefined;
  Object.assign(state, { steps: 0, losses: [], validation: [], tokensPerSecond: 0, maps: 0 });
  Object.assign(state, { generations: 0, generated: '' });
  [stopAt, trainedMs] = [options.stopAfter, 0];
  ui.sample.textContent = '';
  ui.maps.replaceChildren();
  const s = await GptSession.create(device, text, options);
  session = s;
  Object.assign(state, { vocab: s.vocab.size, parameters: s.parameters });
  ui.prompt.value = promptFor(ui.prompt.value, source, s.vocab);
  ui.model.textContent =
    `${text.length.toLocaleString('en')} characters, ${s.vocab.size} distinct (guessing ` +
    `uniformly scores a loss of ln ${s.vocab.size} = ${Math.log(s.vocab.size).toFixed(2)}); ` +
    `${s.parameters.toLocaleString('en')} parameters.`;
  renderTraining(state);
  setStatus('ready', 'Ready: press Train.');
  await showMaps(s, ui.prompt.value);
}

function start(): void {
  const s = session;
  if (!s || running) return;
  // Resuming past the "stop after" step trains on until paused.
  if (stopAt > 0 && state.steps >= stopAt) stopAt = 0;
  running = true;
  setStatus('training', 'Training...');
  loop = trainLoop(s).catch(fail);
}

/** Steps to the next loss read, validation, sample or stop, whichever comes first. */
function chunkSize(s: GptSession): number {
  const toNext = (every: number): number => (every > 0 ? every - (state.steps % every) : Infinity);
  const { evalEvery, sampleEvery } = s.options;
  const toStop = stopAt > 0 ? stopAt - state.steps : Infinity;
  return Math.min(toNext(READ_EVERY), toNext(evalEvery), toNext(sampleEvery), toStop);
}

async function trainLoop(s: GptSession): Promise<void> {
  const { batch, context, evalEvery, sampleEvery } = s.options;
  while (running && session === s) {
    const count = chunkSize(s);
    const { loss, ms } = await s.train(count);
    state.steps += count;
    trainedMs += ms;
    state.tokensPerSecond = (state.steps * batch * context) / (trainedMs / 1000);
    state.losses.push([state.steps, loss]);
    if (!Number.isFinite(loss)) {
      running = false;
      refuse(
        `The loss became ${loss}: training diverged. Lower the learning rate and build a new model.`,
      );
    }
    if (state.steps % evalEvery === 0) state.validation.push([state.steps, await s.validate()]);
    const stopped = running && stopAt > 0 && state.steps >= stopAt;
    if (stopped) {
      running = false;
      setStatus('paused', `Stopped at step ${state.steps}, as asked.`);
    }
    renderTraining(state);
    if (stopped || (sampleEvery > 0 && state.steps % sampleEvery === 0)) await generate(s);
    await yieldToPage();
  }
  if (session === s && state.status === 'training')
    setStatus('paused', `Paused at step ${state.steps}.`);
}

/** Draws the attention maps of `prompt`'s last `context` characters. */
async function showMaps(s: GptSession, prompt: string): Promise<void> {
  const maps = await s.attention(prompt);
  if (session !== s) return; // rebuilt meanwhile
  const chars = Array.from(prompt).slice(-s.options.context);
  state.maps = drawAttention(ui.maps, ui.mapReadout, maps, chars);
}

/** The sampling form's settings, or undefined (with a message) when one is bad. */
function sampleSettings(s: GptSession): ReturnType<typeof parseSample> | undefined {
  try {
    const settings = parseSample((name) => fieldOf(ui.sampling, name));
    const problem = unreadable(settings.prompt, s.vocab);
    if (problem !== undefined) throw new Error(problem);
    showMessage(ui.sampleMessage, '');
    return settings;
  } catch (e) {
    showMessage(ui.sampleMessage, `Cannot generate: ${messageOf(e)}`);
    return undefined;
  }
}

/**
 * Generates from the prompt field, streaming the characters, then redraws the maps for the
 * prompt; `state.generating` covers both, so a test that sees it false sees the new maps.
 */
async function generate(s: GptSession): Promise<void> {
  if (state.generating) return; // the sample in progress is the one asked for
  const settings = sampleSettings(s);
  if (!settings) return;
  const prompt = Object.assign(document.createElement('span'), {
    className: 'prompt',
    textContent: settings.prompt,
  });
  const out = document.createTextNode('');
  ui.sample.replaceChildren(prompt, out);
  Object.assign(state, { generating: true, generated: '' });
  renderControls(state, true);
  try {
    const { temperature, topK, chars } = settings;
    // A new seed per sample, so two samples of the same model differ.
    const o = { temperature, topK, seed: s.options.seed + state.generations };
    await s.generate(settings.prompt, chars, o, (c) => {
      state.generated += c;
      out.appendData(c);
    });
    await showMaps(s, settings.prompt);
    state.generations++;
  } catch (e) {
    showMessage(ui.sampleMessage, `Generation stopped: ${messageOf(e)}`);
  } finally {
    state.generating = false;
    renderControls(state, session !== undefined);
  }
}

function onUserAction(action: (s: GptSession) => Promise<void>): void {
  const s = session;
  if (s) action(s).catch(fail);
}

function wire(device: Gpu): void {
  ui.settings.addEventListener('submit', (e) => {
    e.preventDefault();
    builds = builds.then(() => build(device)).catch(fail);
  });
  ui.corpus.addEventListener('change', () => (ui.own.hidden = ui.corpus.value !== 'own'));
  ui.file.addEventListener('change', () => {
    const file = ui.file.files?.[0];
    if (!file) return;
    file
      .text()
      .then((text) => {
        ui.ownText.value = text;
      })
      .catch((e: unknown) => refuse(`Could not read ${file.name}: ${messageOf(e)}`));
  });
  // Pausing only clears the flag: the loop stops after the chunk in flight.
  ui.toggle.addEventListener('click', () => (running ? (running = false) : start()));
  ui.sampling.addEventListener('submit', (e) => {
    e.preventDefault();
    onUserAction(generate);
  });
  ui.showMaps.addEventListener('click', () =>
    onUserAction(async (s) => {
      const settings = sampleSettings(s);
      if (settings) await showMaps(s, settings.prompt);
    }),
  );
}

/** The forms get their defaults, overridden by the URL's parameters of the same names. */
function fillForms(): void {
  for (const [name, value] of Object.entries(defaultFields())) {
    const form = ui.settings.elements.namedItem(name) ? ui.settings : ui.sampling;
    setField(form, name, params.get(name) ?? value);
  }
}

async function boot(): Promise<void> {
  fillForms();
  const device = await openGpu(
    { banner: ui.noWebgpu, adapter: ui.adapter },
    'the transformer cannot train here',
  );
  if (!device) return setStatus('no-webgpu', 'WebGPU is not available.');
  state.adapter = device.adapter;
  void device.lost.then(fail);
  wire(device);
  builds = build(device);
  await builds;
  if (session && params.get('autostart') === '1') start();
}

boot().catch(fail);
