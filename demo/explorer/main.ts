/**
 * The kernel explorer: choose a kernel, set its sizes, run it. A run uploads random inputs, runs
 * the kernel once and compares every output with its CPU twin (max absolute and relative error,
 * the tolerance, pass or fail), runs the race detector on a small case when the kernel uses
 * workgroup memory, then times it (median over the samples after a warm-up, with timestamp
 * queries where the device has them) and reports GFLOP/s or GB/s and the roofline figures against
 * the FMA peak and copy bandwidth measured on the page. The WGSL panel shows the family's source
 * with the dispatched entry points highlighted; it can be edited (./editor), and a run compiles
 * the edit. Every run stays in the runs table. Sizes that make no sense or do not fit the device
 * are refused with a message before anything is allocated.
 * URL parameters preselect the kernel and its sizes: ?kernel=matmul.registerTile&M=65&K=33&N=17.
 */
import '../style.css';
import './style.css';
import { initDevice, KernelError, type Gpu } from '../../src/index';
import { type KernelCase } from '../../bench/cases';
import { withEdits } from './edits';
import { Editor } from './editor';
import { parseValues, parseWhole } from './fields';
import { planWith, type ExplorerKernel, type Plan } from './kernel';
import { EXPLORER_KERNELS } from './kernels';
import { measurePeaks } from './peaks';
import { type Preset } from './presets';
import { type Peaks } from './roofline';
import { inWorker } from './races';
import { runKernel } from './runner';
import { renderHistory, renderPeaks, renderRaces } from './runsView';
import { renderSources, viewsOf, viewsOfCalls, type SourceView } from './source';
import { fieldValue, renderFields, renderResult, ui, type ExplorerState } from './view';

/** The CPU twins are plain JavaScript loops: past ~10^9 steps a run would hang the page. */
const TWIN_BUDGET = 1e9;

const params = new URLSearchParams(location.search);
const state: ExplorerState = { status: 'starting', kernel: '', message: '', history: [] };
(window as unknown as { shadergradExplorer: ExplorerState }).shadergradExplorer = state;
let gpu: Gpu | undefined;
/** Field values typed so far, by key, kept across kernels that share a field (N, C, ...). */
const remembered = new Map<string, string>();
/** The library's views of the shown kernel (the editor puts its edits in when they render). */
let views: SourceView[] = [];
const editor = new Editor(ui, () => showSources(views));
let peaks: Promise<Peaks | undefined> | undefined;
const detect = inWorker(
  () => new Worker(new URL('./raceWorker.ts', import.meta.url), { type: 'module' }),
);

function showSources(next: SourceView[]): void {
  views = next;
  renderSources(ui.tabs, ui.source, editor.apply(views), (v) => editor.show(v));
  const edited = new Set(editor.shaders().keys());
  ui.tabs.querySelectorAll('button').forEach((tab) => {
    if (edited.has(tab.dataset.shader ?? '')) tab.append(' (edited)');
  });
}

function setStatus(status: ExplorerState['status'], text: string): void {
  state.status = status;
  ui.status.textContent = text;
  ui.run.disabled = status === 'running' || status === 'no-webgpu' || status === 'starting';
  ui.kernel.disabled = status === 'running'; // the result shown must be the chosen kernel's
  ui.measurePeaks.disabled = ui.run.disabled; // timings are alone on the GPU
  ui.presets.querySelectorAll('button').forEach((b) => (b.disabled = ui.run.disabled));
}

function showMessage(message: string): void {
  state.message = message;
  ui.message.textContent = message;
  ui.message.hidden = message === '';
}

function current(): ExplorerKernel {
  const k = EXPLORER_KERNELS.find((x) => x.id === ui.kernel.value) ?? EXPLORER_KERNELS[0];
  if (!k) throw new Error('the explorer lists no kernels');
  return k;
}

function fillKernels(): void {
  const chosen = ui.kernel.value || params.get('kernel') || 'matmul.registerTile';
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const k of EXPLORER_KERNELS) {
    const group =
      groups.get(k.family) ??
      Object.assign(document.createElement('optgroup'), { label: k.family });
    groups.set(k.family, group);
    const missing = k.subgroups === true && gpu?.hasSubgroups !== true;
    const option = new Option(`${k.family} ${k.name}${missing ? ' (needs subgroups)' : ''}`, k.id);
    option.disabled = missing && gpu !== undefined;
    group.append(option);
  }
  ui.kernel.replaceChildren(...groups.values());
  if (EXPLORER_KERNELS.some((k) => k.id === chosen)) ui.kernel.value = chosen;
  else showMessage(`?kernel=${chosen}: no such kernel; the list shows them all.`);
}

/** Shows the chosen kernel's fields, source and presets; past results stay. */
function selectKernel(): void {
  ui.fields
    .querySelectorAll<HTMLInputElement | HTMLSelectElement>('[name]')
    .forEach((input) => remembered.set(input.name, input.value));
  const k = current();
  state.kernel = k.id;
  renderFields(k.fields, (key) => remembered.get(key) ?? params.get(key));
  showSources(viewsOf(k.entryPoints(gpu)));
  editor.renderPresets(k.id, (p) => {
    if (gpu) runPreset(gpu, p);
  });
  setStatus(state.status, ui.status.textContent ?? '');
}

function fmtBytes(bytes: number): string {
  return bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(1)} GiB`
    : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Throws, saying which buffer and what limit, when a run would not fit or take too long. */
function checkFits(device: Gpu, plan: Plan): void {
  const max = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  for (const [name, count] of Object.entries(plan.buffers)) {
    if (4 * count > max)
      throw new Error(
        `Too big for this device: ${name} would take ${fmtBytes(4 * count)}, over its largest storage buffer (${fmtBytes(max)}). Use smaller sizes.`,
      );
  }
  if (plan.twinCost > TWIN_BUDGET)
    throw new Error(
      `Too big to check: the CPU twin would take about ${plan.twinCost.toExponential(1)} steps of JavaScript, over the ${TWIN_BUDGET.toExponential(0)} this page allows. Use smaller sizes.`,
    );
}

/** Parses, plans and checks the sizes; a bad one becomes the page's message, not an exception. */
function prepare(device: Gpu): { plan: Plan; reps: number } | undefined {
  const k = current();
  try {
    if (k.subgroups === true && !device.hasSubgroups)
      throw new Error(
        `${k.family} ${k.name} needs the subgroups feature, which this adapter lacks.`,
      );
    const values = parseValues(k.fields, fieldValue);
    const reps = parseWhole('timed samples', ui.reps.value, 1, 100);
    const plan = k.plan(values);
    checkFits(device, plan);
    return { plan, reps };
  } catch (e) {
    showMessage(e instanceof Error ? e.message : String(e));
    setStatus('invalid', 'Not run: see the message below.');
    return undefined;
  }
}

function rememberInUrl(k: ExplorerKernel): void {
  const url = new URLSearchParams({ kernel: k.id });
  for (const f of k.fields) url.set(f.key, fieldValue(f.key));
  url.set('reps', ui.reps.value);
  history.replaceState(null, '', `?${url.toString()}`);
}

/** The adapter's two roofs, measured once (a failure is shown and retried on the next run). */
function peaksOnce(device: Gpu): Promise<Peaks | undefined> {
  if (peaks) return peaks;
  renderPeaks(undefined, 'Measuring the FMA peak and the copy bandwidth...');
  peaks = measurePeaks(device).then(
    (p) => {
      state.peaks = p;
      renderPeaks(p);
      return p;
    },
    (e: unknown) => {
      peaks = undefined;
      renderPeaks(
        undefined,
        `Could not measure the peaks: ${e instanceof Error ? e.message : String(e)}`,
      );
      return undefined;
    },
  );
  return peaks;
}

/** Builds the case with the edits in place; a refusal becomes the page's message. */
function buildCase(device: Gpu, plan: Plan): KernelCase | undefined {
  try {
    return withEdits(plan.build(device), editor.shaders());
  } catch (e) {
    showMessage(e instanceof Error ? e.message : String(e));
    setStatus('invalid', 'Not run: see the message below.');
    return undefined;
  }
}

async function run(device: Gpu): Promise<void> {
  showMessage('');
  ui.error.hidden = true;
  state.compileError = undefined;
  editor.showCompileError(undefined);
  state.result = undefined;
  renderResult(undefined);
  renderRaces(undefined);
  const k = current();
  const prepared = prepare(device);
  if (!prepared) return;
  rememberInUrl(k);
  const c = buildCase(device, prepared.plan);
  if (!c) return;
  const request = {
    kernel: k,
    plan: prepared.plan,
    racePlan: k.raceSizes && planWith(k, k.raceSizes),
    reps: prepared.reps,
    edits: editor.shadersOf([...c.setup, ...c.calls]),
    source: editor.label([...c.setup, ...c.calls]),
    peaks: () => peaksOnce(device),
    detect,
  };
  setStatus('running', `Running ${k.family} ${k.name}...`);
  try {
    state.result = await runKernel(device, c, request, (text) => setStatus('running', text));
  } catch (e) {
    // An edit that does not compile (or binds other buffers) is the editor's error, not the page's.
    if (!(e instanceof KernelError && request.edits.size > 0 && !device.lostError)) throw e;
    state.compileError = e.message;
    showSources(views); // the edited source, its tab marked
    editor.setEditing(true);
    editor.showCompileError(e.message);
    return setStatus('invalid', 'Not run: the edited shader failed; see beside the editor.');
  }
  state.history.push(state.result);
  showSources(viewsOfCalls(c.calls));
  renderResult(state.result);
  renderRaces(state.result);
  renderHistory(state.history);
  setStatus('done', `Done: ${state.result.verdict}.`);
}

/** Types the preset's sizes, makes its edit and runs it. */
function runPreset(device: Gpu, preset: Preset): void {
  if (state.status === 'running') return;
  for (const [key, value] of Object.entries(preset.sizes ?? {})) {
    const input = ui.fields.querySelector<HTMLInputElement>(`[name="${key}"]`);
    if (input) input.value = value;
  }
  editor.applyPreset(preset);
  void run(device).catch(fail);
}

function fail(e: unknown): void {
  state.error = e instanceof Error ? e.message : String(e);
  ui.error.textContent = state.error;
  ui.error.hidden = false;
  setStatus('error', 'Failed: see the message above.');
}

function noWebgpu(reason: string): void {
  ui.noWebgpu.textContent =
    `WebGPU is not available, so no kernel can run here; the WGSL sources below still show. ${reason} ` +
    'Use a recent Chrome or Edge (113+) with hardware acceleration on, served from http://localhost or https.';
  ui.noWebgpu.hidden = false;
  ui.adapter.textContent = 'No WebGPU adapter.';
  setStatus('no-webgpu', 'WebGPU is not available.');
}

async function boot(): Promise<void> {
  ui.reps.value = params.get('reps') ?? '5';
  renderHistory(state.history);
  renderPeaks(undefined);
  fillKernels();
  selectKernel();
  ui.kernel.addEventListener('change', () => {
    showMessage('');
    selectKernel();
  });
  if (!('gpu' in navigator))
    return noWebgpu('This browser does not expose WebGPU (navigator.gpu).');
  try {
    gpu = await initDevice({ debug: true });
  } catch (e) {
    return noWebgpu(e instanceof Error ? e.message : String(e));
  }
  const device = gpu;
  state.adapter = device.adapter;
  const a = device.adapter;
  ui.adapter.textContent = `GPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || '(not disclosed)'} (${a.kind})${device.hasTimestampQuery ? ', timestamp queries' : ''}${device.hasSubgroups ? ', subgroups' : ''}`;
  void device.lost.then(fail);
  fillKernels(); // now that subgroup support is known
  selectKernel();
  ui.measurePeaks.addEventListener('click', () => void peaksOnce(device));
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run(device).catch(fail);
  });
  setStatus('ready', 'Ready: choose a kernel and sizes, then Run.');
}

boot().catch(fail);
