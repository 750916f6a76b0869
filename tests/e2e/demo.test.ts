/**
 * The live training demo in headless Chromium (WebGPU on SwiftShader), on a tiny network so the
 * whole file takes well under a minute: it trains and its loss falls, the curves and filters are
 * drawn, a drawn digit gets probabilities summing to 1, and a saved checkpoint loads back to the
 * same predictions. The tests share one page and run in order.
 */
import { readFileSync } from 'node:fs';
import type { Browser, ElementHandle } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DemoState } from '../../demo/view';
import { launchChromium } from '../../scripts/chrome';
import { catchDownloads, downloaded, openPage, waitUntil, type OpenedPage } from './pages';

const STEPS = 40;
const TEST_IMAGES = 200;
const TINY = `features=4,8&dense=32&batch=32&limit=2048&lr=0.003&test=${TEST_IMAGES}`;

let browser: Browser;
let demo: OpenedPage;

const readState = (): DemoState =>
  (window as unknown as { shadergradDemo: DemoState }).shadergradDemo;

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

beforeAll(async () => {
  browser = await launchChromium();
  demo = await openPage(browser, `${inject('baseUrl')}/demo/?${TINY}&steps=${STEPS}&autostart=1`);
});

afterAll(async () => {
  await browser?.close();
});

describe('demo page', () => {
  it('trains a tiny CNN live: the loss falls and the curves, filters and confusion matrix are drawn', async () => {
    const { page } = demo;
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'paused' || v.status === 'error',
      'training to pause',
    );
    expect(s.error).toBeUndefined();
    expect(s.adapter?.kind).toBe('swiftshader');
    expect(s.losses).toHaveLength(STEPS);
    expect(s.losses.every(Number.isFinite)).toBe(true);
    // Untrained, the loss is about ln 10 = 2.3; 40 Adam steps at lr 3e-3 bring it well down.
    // Batches are noisy, so means over a few steps are compared with a wide margin.
    expect(mean(s.losses.slice(0, 5))).toBeGreaterThan(1.9);
    expect(mean(s.losses.slice(-10))).toBeLessThan(0.75 * mean(s.losses.slice(0, 5)));
    expect(s.samplesPerSecond).toBeGreaterThan(0);
    expect(s.confusion?.total).toBe(TEST_IMAGES);
    expect(s.confusion?.counts.reduce((a, b) => a + b, 0)).toBe(TEST_IMAGES);
    expect(s.confusion?.accuracy).toBeGreaterThan(0.2); // chance is 0.1
    expect(s.memory?.total).toBeGreaterThan(s.memory?.parameters ?? Infinity);
    // The smoothed loss curve is drawn in #2451b3; count its pixels on the chart.
    const curvePixels = await page.$eval('#loss-chart', (c) => {
      const data =
        (c as HTMLCanvasElement).getContext('2d')?.getImageData(0, 0, 560, 200).data ?? [];
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (data[i] === 0x24 && data[i + 1] === 0x51 && data[i + 2] === 0xb3) n++;
      return n;
    });
    expect(curvePixels).toBeGreaterThan(100);
    // Filters: 4 tiles of distinct gray levels (each scaled to its own range).
    const grays = await page.$eval('#filters', (c) => {
      const canvas = c as HTMLCanvasElement;
      const data =
        canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4) seen.add(data[i] ?? 0);
      return seen.size;
    });
    expect(grays).toBeGreaterThan(10);
    expect(await page.$eval('#memory', (e) => e.textContent)).toContain('MB');
    // Built with the autotuner (the default, tune=cached): the kernels panel says what it timed.
    expect(s.tuning?.mode).toBe('cached');
    expect(s.tuning?.products.some((p) => p.source === 'timed')).toBe(true);
    const kernels = await page.$eval('#tuning', (e) => e.textContent);
    expect(kernels).toMatch(/\d+ timed on this device.*The chosen kernels take [\d.]+ ms/s);
  });

  it('drawing a digit gives class probabilities that sum to 1', async () => {
    const { page } = demo;
    const before = (await page.evaluate(readState)).predictions;
    const box = await (await page.$('#pad'))?.boundingBox();
    if (!box) throw new Error('no drawing pad');
    // A "7": a bar across the top, then a stroke down to the bottom left.
    const at = (x: number, y: number): [number, number] => [
      box.x + x * box.width,
      box.y + y * box.height,
    ];
    await page.mouse.move(...at(0.25, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.75, 0.2), { steps: 8 });
    await page.mouse.move(...at(0.4, 0.85), { steps: 12 });
    await page.mouse.up();
    const s = await waitUntil(
      page,
      readState,
      (v) => v.predictions > before,
      'a prediction of the drawing',
    );
    const p = s.probabilities ?? [];
    expect(p).toHaveLength(10);
    expect(p.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(Math.abs(mean(p) * 10 - 1)).toBeLessThan(1e-5); // softmax in float32 sums to 1 ± ulps
    expect(await page.$$eval('#probabilities .prob', (rows) => rows.length)).toBe(10);
    expect(await page.$eval('#input-note', (e) => e.textContent)).toContain('drawing');
    await page.screenshot({ path: '/tmp/demo.png', fullPage: true });
  });

  it('saving and loading a checkpoint gives back the same predictions', async () => {
    const { page } = demo;
    const dir = await catchDownloads(page);
    let before = (await page.evaluate(readState)).predictions;
    await page.click('#next-test');
    const saved = await waitUntil(
      page,
      readState,
      (v) => v.predictions > before,
      'the test image prediction',
    );
    await page.click('#save-model');
    const model = await downloaded(dir, 'model.safetensors');
    await page.click('#save-first');
    const first = readFileSync(await downloaded(dir, 'conv1.safetensors'));
    await downloaded(dir, 'conv1.png');
    const header = first.subarray(8, 8 + Number(first.readBigUInt64LE(0))).toString();
    expect(Object.keys(JSON.parse(header) as object).sort()).toEqual([
      '__metadata__',
      'conv1.bias',
      'conv1.weight',
    ]);

    // Train on, so the network's predictions move away from the saved ones.
    await page.click('#toggle');
    await waitUntil(
      page,
      readState,
      (v) => v.status === 'training' && v.step >= STEPS + 10,
      '10 more steps',
    );
    await page.click('#toggle');
    const moved = await waitUntil(page, readState, (v) => v.status === 'paused', 'the pause');
    const diff = (a?: number[], b?: number[]) =>
      Math.max(...(a ?? []).map((x, i) => Math.abs(x - (b?.[i] ?? NaN))));
    expect(diff(moved.probabilities, saved.probabilities)).toBeGreaterThan(1e-4);

    before = moved.predictions;
    const input = (await page.$('#load')) as ElementHandle<HTMLInputElement> | null;
    await input?.uploadFile(model);
    const loaded = await waitUntil(
      page,
      readState,
      (v) => v.loaded === 'model.safetensors' && v.predictions > before,
      'the checkpoint to load',
    );
    // Same weights, same kernels, same input: the very same float32 probabilities.
    expect(diff(loaded.probabilities, saved.probabilities)).toBeLessThan(1e-6);
  });

  it('on a software adapter, sizes the default network down, says why, and tunes it', async () => {
    // SwiftShader here: a URL without sizes gets the smaller software defaults, a URL with them
    // keeps its own.
    const plain = await openPage(browser, `${inject('baseUrl')}/demo/?limit=512`);
    // Its shapes are new to this browser profile, so the build times kernels and says so.
    const timing = (s: DemoState) => s.message.startsWith('Timing kernels on this device');
    const tuning = await waitUntil(plain.page, readState, timing, "the tuner's status", 60_000);
    expect(tuning.message).toMatch(/tuning \d+\/\d+( paths)?: /);
    const ready = (s: DemoState) => s.status === 'ready';
    await waitUntil(plain.page, readState, ready, 'the default network to be built', 120_000);
    const field = (name: string) =>
      plain.page.$eval(`[name=${name}]`, (e) => (e as HTMLInputElement).value);
    expect([await field('features'), await field('dense'), await field('batch')]).toEqual([
      '8,16',
      '128',
      '32',
    ]);
    const note = await plain.page.$eval('#adapter-note', (e) => ({
      hidden: (e as HTMLElement).hidden,
      text: e.textContent ?? '',
    }));
    expect(note.hidden).toBe(false);
    expect(note.text).toMatch(/software adapter: the default network is smaller/);
    expect(plain.problems).toEqual([]);
    await plain.page.close();
    const sized = await demo.page.$eval('[name=features]', (e) => (e as HTMLInputElement).value);
    expect(sized).toBe('4,8');
    expect(await demo.page.$eval('#adapter-note', (e) => (e as HTMLElement).hidden)).toBe(true);
  });

  it('logs no errors', () => {
    expect(demo.problems).toEqual([]);
  });
});
