/**
 * The benchmark page in headless Chromium (WebGPU on SwiftShader) with a small configuration:
 * every suite validates against its CPU twin and reports timings, the table shows every row, the
 * downloaded JSON is the report on `window.shadergradBench`, and nothing is logged as an error.
 * TensorFlow.js (webgpu backend) runs the same matmuls and training step in turns with
 * shadergrad's: the report has its timings and the shadergrad/tfjs ratios, the comparison table
 * shows them and the chart is drawn.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BenchPageState } from '../../bench/page/main';
import { SUITES } from '../../bench/page/common';
import { launchChromium } from '../../scripts/chrome';
import { catchDownloads, downloaded, openPage, waitUntil, type OpenedPage } from './pages';

let browser: Browser;
let bench: OpenedPage;

const readState = (): BenchPageState =>
  (window as unknown as { shadergradBench: BenchPageState }).shadergradBench;

beforeAll(async () => {
  browser = await launchChromium();
  bench = await openPage(
    browser,
    `${inject('baseUrl')}/bench/?quick=1&sizes=32,48&reps=2&warmup=1&batch=4`,
  );
});

afterAll(async () => {
  await browser?.close();
});

describe('bench page', () => {
  it('completes a small configuration with every suite validated and timed', async () => {
    const s = await waitUntil(
      bench.page,
      readState,
      (v) => v.status !== 'starting' && v.status !== 'running',
      'the run to finish',
    );
    const r = s.report;
    expect(s.status, JSON.stringify(r?.errors)).toBe('done');
    if (!r) throw new Error('no report');
    expect(r.schema).toBe('shadergrad-bench/1');
    expect(r.userAgent).toContain('Chrome');
    expect(r.browser).toMatch(/\d/);
    expect(r.adapter.kind).toBe('swiftshader');
    expect(typeof r.timestampQuery).toBe('boolean');
    // With timestamp queries the page reports their step (Chrome may quantize them).
    if (r.timestampQuery) expect(r.timestampResolutionNs).toBeGreaterThan(0);
    const environment = await bench.page.$eval('#environment', (e) => e.textContent ?? '');
    expect(environment).toMatch(
      r.timestampQuery
        ? /resolution (\d+ ns|[\d.]+ µs \(quantized\)|unknown)/
        : /no timestamp-query/,
    );
    expect(r.options).toMatchObject({ sizes: [32, 48], reps: 2, warmup: 1, batch: 4, quick: true });
    expect(r.errors).toEqual([]);
    // The training step is compiled with the autotuner, and the log says what it chose.
    const log = await bench.page.$eval('#log', (e) => e.textContent ?? '');
    expect(log).toMatch(/tuning \(cached\): \d+ products timed, \d+ from the cache/);
    expect(r.peakGflops).toBeGreaterThan(0);
    expect(new Set(r.rows.map((x) => x.suite))).toEqual(new Set(SUITES));
    // (3 matmul variants, GPU time, + the preferred one timed like tf.matMul) x 2 sizes; conv1 and
    // conv2 forward and backward; 2 kinds x 2 layers x 2 directions.
    const matmulRows = r.rows.filter((x) => x.suite === 'matmul');
    expect(matmulRows.map((x) => x.shape)).toEqual([
      ...Array<string>(4).fill('32x32x32'),
      ...Array<string>(4).fill('48x48x48'),
    ]);
    const likeTfjs = matmulRows.filter((x) => x.kernel.endsWith('(wall clock, as tfjs)'));
    expect(likeTfjs.map((x) => x.timing)).toEqual(['wall-clock', 'wall-clock']);
    // The conv rows run and name the adapter's default policy, and conv2's backward its dX path.
    const conv = r.rows.filter((x) => x.suite === 'conv').map((x) => x.kernel);
    expect(conv).toEqual([
      expect.stringMatching(/^conv1 forward \((registerTile|subgroupTile|workgroupTile)[^,]*\)$/),
      expect.stringMatching(/^conv1 backward \([^,]+\)$/),
      expect.stringMatching(/^conv2 forward \([^,]+\)$/),
      expect.stringMatching(
        /^conv2 backward \([^,]+, dX (implicit|implicitRegisterTile|im2col)\)$/,
      ),
    ]);
    expect(r.rows.filter((x) => x.suite === 'pool')).toHaveLength(8);
    for (const row of r.rows) {
      expect(row.medianMs, row.kernel).toBeGreaterThan(0);
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.maxMs).toBeGreaterThanOrEqual(row.medianMs);
      expect(row.samples).toBe(2);
      expect(row.value, row.kernel).toBeGreaterThan(0);
      expect(['GFLOP/s', 'GB/s', 'samples/s']).toContain(row.unit);
      expect(['timestamp-query', 'wall-clock']).toContain(row.timing);
      expect(row.validation.maxError, row.kernel).toBeLessThanOrEqual(row.validation.atol);
    }
    const train = r.rows.filter((x) => x.suite === 'train');
    expect(train.map((x) => x.unit)).toEqual(['samples/s', 'samples/s']);
    // The report carries the tuner's lines with the rows of the step it tuned.
    for (const x of train) expect(x.tuning?.[0]).toMatch(/^tuning \(cached\): \d+ products timed/);
    // The table: one row per result, one header row per suite, the column headers.
    const rows = await bench.page.$$eval('#results tr', (trs) => trs.length);
    expect(rows).toBe(r.rows.length + SUITES.length + 1);
    expect(await bench.page.$eval('#environment', (e) => e.textContent)).toContain('swiftshader');
    await bench.page.screenshot({ path: '/tmp/bench.png', fullPage: true });
  });

  it('times TensorFlow.js on the same matmuls and training step, with ratios and a chart', async () => {
    const { report } = await bench.page.evaluate(readState);
    const tfjs = report?.tfjs;
    if (!tfjs || 'error' in tfjs) throw new Error(`no tfjs numbers: ${JSON.stringify(tfjs)}`);
    expect(tfjs.backend).toBe('webgpu');
    expect(tfjs.matmul.map((t) => [t.shape, t.unit])).toEqual([
      ['32x32x32', 'GFLOP/s'],
      ['48x48x48', 'GFLOP/s'],
    ]);
    expect(tfjs.train.map((t) => [t.shape, t.unit])).toEqual([
      ['batch 4, small CNN 4,8 / 32', 'samples/s'],
    ]);
    // Both were timed in turns with shadergrad's rows, one sample each: each row carries its peer.
    const stepRow = report.rows.find((x) => x.kernel.startsWith('Trainer.trainStep'));
    expect(stepRow?.tfjs).toEqual(tfjs.train[0]);
    const likeTfjs = report.rows.filter((x) => x.kernel.endsWith('(wall clock, as tfjs)'));
    expect(likeTfjs.map((x) => x.tfjs)).toEqual(tfjs.matmul);
    expect([...tfjs.matmul, ...tfjs.train].every((t) => t.inTurns)).toBe(true);
    expect(tfjs.method).toContain("each sample in turn with one of shadergrad's");
    for (const t of [...tfjs.matmul, ...tfjs.train]) {
      expect(t.samples, t.kernel).toBe(2);
      expect(t.minMs).toBeGreaterThan(0);
      expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
      expect(t.maxMs).toBeGreaterThanOrEqual(t.medianMs);
      expect(t.value, t.kernel).toBeGreaterThan(0);
    }
    // Only rows timed as tfjs is: the wall-clock matmul per size and Trainer.trainStep.
    const rows = report.rows.filter(
      (x) => x.kernel.endsWith('(wall clock, as tfjs)') || x.kernel.startsWith('Trainer.trainStep'),
    );
    expect(rows).toHaveLength(3);
    expect(tfjs.ratios.map((x) => [x.kernel, x.shape])).toEqual(
      rows.map((x) => [x.kernel, x.shape]),
    );
    for (const x of tfjs.ratios) {
      const peer = [...tfjs.matmul, ...tfjs.train].find((t) => t.shape === x.shape);
      expect(x.tfjs).toBe(peer?.value);
      expect(x.ratio).toBeCloseTo(x.shadergrad / x.tfjs, 10);
      expect(Number.isFinite(x.ratio) && x.ratio > 0, x.kernel).toBe(true);
    }
    const tableRows = await bench.page.$$eval('#comparison tr', (trs) => trs.length);
    expect(tableRows).toBe(tfjs.ratios.length + 1);
    expect(await bench.page.$eval('#tfjs-note', (e) => e.textContent)).toContain('own GPUDevice');
    // The chart: count the canvas pixels that are not transparent, and the orange tfjs bars.
    const pixels = await bench.page.$eval('#chart', (c) => {
      const g = (c as HTMLCanvasElement).getContext('2d');
      const d = g?.getImageData(
        0,
        0,
        (c as HTMLCanvasElement).width,
        (c as HTMLCanvasElement).height,
      ).data;
      let drawn = 0;
      let tfjsOrange = 0;
      for (let i = 0; d && i < d.length; i += 4) {
        if ((d[i + 3] ?? 0) > 0) drawn++;
        if (d[i] === 0xe8 && d[i + 1] === 0x71 && d[i + 2] === 0x0a) tfjsOrange++;
      }
      return { drawn, tfjsOrange };
    });
    expect(pixels.drawn).toBeGreaterThan(5000);
    expect(pixels.tfjsOrange).toBeGreaterThan(100);
    await bench.page.screenshot({ path: '/tmp/bench-tfjs.png', fullPage: true });
  });

  it('downloads the report as JSON', async () => {
    const dir = await catchDownloads(bench.page);
    await bench.page.click('#download');
    const file = await downloaded(dir, 'shadergrad-bench.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(json).toEqual((await bench.page.evaluate(readState)).report);
  });

  it('logs no errors', () => {
    expect(bench.problems).toEqual([]);
  });
});

describe('bench page without TensorFlow.js', () => {
  it('shows a note and reports tfjs: { error } when tfjs fails to load', async () => {
    const page = await browser.newPage();
    // vite names the chunks built from tfjs's packages (each package's dist/index.js) "dist-*.js";
    // aborting them makes the page's dynamic import of tfjs fail.
    const aborted: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (/\/assets\/dist-[^/]*\.js$/.test(req.url())) {
        aborted.push(req.url());
        void req.abort();
      } else void req.continue();
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    await page.goto(`${inject('baseUrl')}/bench/?quick=1&sizes=16&reps=1&warmup=1&only=matmul`);
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status !== 'starting' && v.status !== 'running',
      'the run to finish',
    );
    expect(aborted.length).toBeGreaterThan(0);
    expect(s.status).toBe('done');
    expect(s.report?.rows.filter((x) => x.suite === 'matmul')).toHaveLength(4);
    // The matmul row that tf.matMul would have been timed beside went on alone.
    expect(s.report?.rows.every((x) => x.tfjs === undefined)).toBe(true);
    const tfjs = s.report?.tfjs;
    expect(tfjs && Object.keys(tfjs)).toEqual(['error']);
    expect(tfjs && 'error' in tfjs ? tfjs.error : '').toContain('TensorFlow.js did not load');
    expect(await page.$eval('#tfjs-note', (e) => e.textContent)).toContain('could not run');
    expect(await page.$$eval('#comparison tr', (trs) => trs.length)).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
