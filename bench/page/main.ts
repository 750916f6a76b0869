/**
 * The Chrome benchmark page: FMA peak, matmul variants, the reference CNN's conv and pooling
 * layers, softmax cross-entropy, Adam and a full training step, each validated against its CPU
 * twin and then timed (see common.ts). Results appear as a table, can be downloaded as JSON, and
 * sit on `window.shadergradBench` for `npm run bench:chrome` and the end-to-end tests.
 * TensorFlow.js (webgpu backend, its own device on the same adapter) runs the same matmuls and
 * training step in turns with shadergrad's, one sample each (tfjsSuite.ts); a table of
 * shadergrad/tfjs ratios and a chart show both.
 */
import '../../demo/style.css';
import './bench.css';
import { initDevice, type Gpu } from '../../src/index';
import { timestampResolutionNs } from '../../src/kernelApi';
import {
  MATMUL_WALL_REPEAT,
  SUITES,
  makeContext,
  parseBenchOptions,
  type BenchContext,
  type BenchRow,
  type SuiteName,
} from './common';
import { benchConv } from './convSuite';
import { benchPool } from './poolSuite';
import { benchFmaPeak, benchMatmul } from './matmulSuite';
import { drawChart } from './chart';
import { browserName, renderComparison, renderTable, type BenchReport } from './report';
import { benchTfjs } from './tfjsSuite';
import { benchAdam, benchSoftmax, benchTrainStep, trainConfig, trainShape } from './trainSuite';

export interface BenchPageState {
  status: 'starting' | 'running' | 'done' | 'error' | 'no-webgpu';
  report?: BenchReport;
  error?: string;
}

const state: BenchPageState = { status: 'starting' };
(window as unknown as { shadergradBench: BenchPageState }).shadergradBench = state;

const SUITE_RUNNERS: Record<SuiteName, (ctx: BenchContext) => Promise<BenchRow[]>> = {
  fma: benchFmaPeak,
  matmul: benchMatmul,
  conv: benchConv,
  pool: benchPool,
  softmax: benchSoftmax,
  adam: benchAdam,
  train: benchTrainStep,
};

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`bench/index.html has no #${id} ${type.name}`);
  return e;
}

const ui = {
  noWebgpu: byId('no-webgpu', HTMLElement),
  error: byId('error', HTMLElement),
  environment: byId('environment', HTMLElement),
  run: byId('run', HTMLButtonElement),
  download: byId('download', HTMLButtonElement),
  status: byId('status', HTMLElement),
  results: byId('results', HTMLTableElement),
  log: byId('log', HTMLElement),
  tfjsNote: byId('tfjs-note', HTMLElement),
  comparison: byId('comparison', HTMLTableElement),
  chart: byId('chart', HTMLCanvasElement),
};

function log(message: string): void {
  ui.status.textContent = message;
  ui.log.textContent += `${message}\n`;
  ui.log.scrollTop = ui.log.scrollHeight;
}

function formatResolution(ns: number | undefined): string {
  if (ns === undefined) return 'unknown (the driver returned zeros)';
  return ns >= 1000 ? `${(ns / 1000).toFixed(ns >= 10_000 ? 0 : 1)} µs (quantized)` : `${ns} ns`;
}

function showEnvironment(report: BenchReport): void {
  const a = report.adapter;
  const o = report.options;
  const entries: [string, string][] = [
    ['browser', `${report.browser} — ${report.userAgent}`],
    [
      'adapter',
      `${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || '(not disclosed)'} — ${a.kind}`,
    ],
    [
      'timing',
      report.timestampQuery
        ? `timestamp-query: GPU time of each compute pass (wall clock where the driver returns zeros); resolution ${formatResolution(report.timestampResolutionNs)}`
        : 'wall clock (submit to onSubmittedWorkDone): this device has no timestamp-query',
    ],
    [
      'options',
      `sizes ${o.sizes.join(', ')} · batch ${o.batch} · ${o.reps} samples after ${o.warmup} warm-up${o.quick ? ' · quick' : ''}`,
    ],
  ];
  ui.environment.replaceChildren(
    ...entries.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = v;
      return [dt, dd];
    }),
  );
}

async function runAll(gpu: Gpu): Promise<void> {
  const options = parseBenchOptions(location.search);
  const started = performance.now();
  const report: BenchReport = {
    schema: 'shadergrad-bench/1',
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    browser: browserName(),
    adapter: gpu.adapter,
    timestampQuery: gpu.hasTimestampQuery,
    options,
    peakGflops: undefined,
    rows: [],
    errors: [],
    seconds: 0,
  };
  state.report = report;
  state.status = 'running';
  ui.run.disabled = true;
  ui.download.disabled = true;
  ui.error.hidden = true;
  ui.log.textContent = '';
  ui.tfjsNote.textContent = options.tfjs
    ? 'TensorFlow.js runs after shadergrad.'
    : 'Skipped (?tfjs=0).';
  ui.tfjsNote.classList.remove('error');
  renderComparison(ui.comparison, undefined);
  report.timestampResolutionNs = await timestampResolutionNs(gpu);
  showEnvironment(report);
  const ctx = makeContext(gpu, options, log);
  for (const suite of SUITES.filter((s) => options.only.includes(s))) {
    try {
      const rows = await SUITE_RUNNERS[suite](ctx);
      report.rows.push(...rows);
      if (suite === 'fma') report.peakGflops = rows[0]?.value;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      report.errors.push({ suite, message });
      ui.error.textContent = report.errors.map((x) => `${x.suite}: ${x.message}`).join('\n');
      ui.error.hidden = false;
    }
    renderTable(ui.results, report);
  }
  if (options.tfjs) await compareTfjs(ctx, report);
  drawChart(
    ui.chart,
    report.rows,
    report.tfjs && 'error' in report.tfjs
      ? []
      : [...(report.tfjs?.matmul ?? []), ...(report.tfjs?.train ?? [])],
  );
  report.seconds = (performance.now() - started) / 1000;
  log(
    `Done in ${report.seconds.toFixed(1)} s: ${report.rows.length} rows, ${report.errors.length} errors.`,
  );
  state.status = report.errors.length > 0 ? 'error' : 'done';
  ui.run.disabled = false;
  ui.download.disabled = false;
}

/** tfjs on the shapes shadergrad ran; a failure becomes `{ error }` and a note, never a crash. */
async function compareTfjs(ctx: BenchContext, report: BenchReport): Promise<void> {
  const ran = (suite: SuiteName) => report.rows.some((r) => r.suite === suite);
  if (!ran('matmul') && !ran('train')) return;
  const train = ran('train')
    ? { config: trainConfig(ctx, ctx.options.batch), shape: trainShape(ctx) }
    : undefined;
  ui.tfjsNote.textContent = 'Running TensorFlow.js...';
  try {
    report.tfjs = await benchTfjs(ctx, report.rows, train);
  } catch (e) {
    report.tfjs = { error: e instanceof Error ? e.message : String(e) };
  }
  const t = report.tfjs;
  ui.tfjsNote.textContent =
    'error' in t
      ? `TensorFlow.js could not run here, so there are no ratios: ${t.error}`
      : `TensorFlow.js ${t.version}, backend ${t.backend}, on its own GPUDevice from navigator.gpu ` +
        `(adapter: ${t.adapter || 'not disclosed'}), the same adapter as shadergrad's, never at ` +
        `the same time. tfjs timing: ${t.method}. Ratio = shadergrad / tfjs ` +
        'throughput (above 1: shadergrad is faster). Both sides are timed the same way, wall ' +
        `clock: the matmul ratios use shadergrad's "(wall clock, as tfjs)" rows (${MATMUL_WALL_REPEAT} ` +
        'matmuls, one submit each, then a 1-element read-back), not the GPU-time rows, and the ' +
        'training step is upload + step + loss read-back on both sides.';
  ui.tfjsNote.classList.toggle('error', 'error' in t);
  renderComparison(ui.comparison, t);
}

function downloadJson(): void {
  if (!state.report) return;
  const blob = new Blob([`${JSON.stringify(state.report, null, 2)}\n`], {
    type: 'application/json',
  });
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), {
    href: url,
    download: 'shadergrad-bench.json',
  });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function noWebgpu(reason: string): void {
  state.status = 'no-webgpu';
  state.error = reason;
  ui.noWebgpu.textContent =
    `WebGPU is not available, so nothing can be benchmarked here. ${reason} ` +
    'Use a recent Chrome or Edge (113+) with hardware acceleration on, served from http://localhost or https.';
  ui.noWebgpu.hidden = false;
  ui.status.textContent = 'WebGPU is not available.';
}

function fail(e: unknown): void {
  state.status = 'error';
  state.error = e instanceof Error ? e.message : String(e);
  ui.error.textContent = state.error;
  ui.error.hidden = false;
}

async function boot(): Promise<void> {
  parseBenchOptions(location.search); // a bad URL parameter fails before the device is made
  if (!('gpu' in navigator))
    return noWebgpu('This browser does not expose WebGPU (navigator.gpu).');
  let gpu: Gpu;
  try {
    gpu = await initDevice();
  } catch (e) {
    return noWebgpu(e instanceof Error ? e.message : String(e));
  }
  ui.run.addEventListener('click', () => void runAll(gpu).catch(fail));
  ui.download.addEventListener('click', downloadJson);
  await runAll(gpu);
}

boot().catch(fail);
