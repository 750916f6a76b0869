/**
 * The benchmark page in headless Chromium (WebGPU on SwiftShader) with a small configuration:
 * every suite validates against its CPU twin and reports timings, the table shows every row, the
 * downloaded JSON is the report on `window.shadergradBench`, and nothing is logged as an error.
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
    expect(r.options).toMatchObject({ sizes: [32, 48], reps: 2, warmup: 1, batch: 4, quick: true });
    expect(r.errors).toEqual([]);
    expect(r.peakGflops).toBeGreaterThan(0);
    expect(new Set(r.rows.map((x) => x.suite))).toEqual(new Set(SUITES));
    // 3 matmul variants x 2 sizes; conv1 and conv2 forward and backward; 2 kinds x 2 layers x 2 directions.
    expect(r.rows.filter((x) => x.suite === 'matmul').map((x) => x.shape)).toEqual([
      ...Array<string>(3).fill('32x32x32'),
      ...Array<string>(3).fill('48x48x48'),
    ]);
    expect(r.rows.filter((x) => x.suite === 'conv')).toHaveLength(4);
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
    // The table: one row per result, one header row per suite, the column headers.
    const rows = await bench.page.$$eval('#results tr', (trs) => trs.length);
    expect(rows).toBe(r.rows.length + SUITES.length + 1);
    expect(await bench.page.$eval('#environment', (e) => e.textContent)).toContain('swiftshader');
    await bench.page.screenshot({ path: '/tmp/bench.png', fullPage: true });
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
