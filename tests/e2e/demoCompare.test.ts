/**
 * The demo's ResNet comparison in headless Chromium (WebGPU on SwiftShader): a width-4 resnet
 * trained 3 steps with skip connections, then 3 steps without, one run after the other in the
 * same worker; both runs' curves get their points and a final test accuracy, and the model
 * panel names the graph's layers; the form shows only the chosen model's knobs; a comparison
 * paused midway and resumed still ends with both runs' steps. Tiny on purpose: SwiftShader runs
 * the convolutions on the CPU. The tests share one page and run in order.
 */
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DemoState } from '../../demo/view';
import { launchChromium } from '../../scripts/chrome';
import { openPage, waitUntil, type OpenedPage } from './pages';

const STEPS = 3;
// Untuned: the tuner is tested in demo.test.ts; here it would time each run's kernels first.
const QUERY = `model=resnet&width=4&limit=256&steps=${STEPS}&autostart=1&compare=skip&test=64&tune=off`;

let browser: Browser;
let demo: OpenedPage;

const readState = (): DemoState =>
  (window as unknown as { shadergradDemo: DemoState }).shadergradDemo;

beforeAll(async () => {
  browser = await launchChromium();
  demo = await openPage(browser, `${inject('baseUrl')}/demo/?${QUERY}`);
});

afterAll(async () => {
  await browser?.close();
});

describe('demo page, resnet comparison', () => {
  it('trains with and then without skip connections and charts both runs', async () => {
    const { page } = demo;
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'error' || (v.status === 'paused' && v.message.includes('done')),
      'the comparison to finish',
      240_000,
    );
    expect(s.error).toBeUndefined();
    expect(s.runs?.map((r) => r.label)).toEqual([
      'with skip connections',
      'without skip connections',
    ]);
    for (const r of s.runs ?? []) {
      expect(r.losses).toHaveLength(STEPS);
      expect(r.accuracies).toHaveLength(STEPS);
      expect(r.losses.every(Number.isFinite)).toBe(true);
      // Each run ends with a test evaluation at its last step: its final test accuracy.
      const last = r.testAccuracy[r.testAccuracy.length - 1];
      expect(last?.[0]).toBe(STEPS);
      expect(last?.[1]).toBeGreaterThanOrEqual(0);
    }
    expect(s.step).toBe(STEPS); // the second run's own step count, not 2 * STEPS
    // Both runs' smoothed loss lines are on the loss chart, each in its color.
    const pixels = await page.$eval('#loss-chart', (c) => {
      const data =
        (c as HTMLCanvasElement).getContext('2d')?.getImageData(0, 0, 560, 200).data ?? [];
      const count: [number, number] = [0, 0];
      for (let i = 0; i < data.length; i += 4) {
        const rgb = [data[i], data[i + 1], data[i + 2]].join(',');
        if (rgb === '36,81,179') count[0]++; // #2451b3, the run with skips
        if (rgb === '192,57,43') count[1]++; // #c0392b, the run without
      }
      return count;
    });
    expect(pixels[0]).toBeGreaterThan(20);
    expect(pixels[1]).toBeGreaterThan(20);
    expect(await page.$eval('#stats', (e) => e.textContent)).toContain('without skip connections');
    expect(await page.$eval('#model', (e) => e.textContent)).toContain('layer1.0.conv1');
    await page.screenshot({ path: '/tmp/demo-compare.png', fullPage: true });
  });

  it("shows only the chosen model's knobs", async () => {
    const { page } = demo;
    const visible = (name: string) =>
      page.$eval(`[name=${name}]`, (e) => (e as HTMLElement).offsetParent !== null);
    expect(await visible('width')).toBe(true);
    expect(await visible('compare')).toBe(true);
    expect(await visible('features')).toBe(false);
    await page.select('#model-choice', 'cnn');
    expect(await visible('width')).toBe(false);
    expect(await visible('compare')).toBe(false);
    expect(await visible('features')).toBe(true);
  });

  it('a comparison paused midway and resumed still gives each run its steps', async () => {
    const { page } = demo;
    // From the form this time: back to the resnet, 2 steps per run, not started yet.
    await page.select('#model-choice', 'resnet');
    await page.$eval('[name=steps]', (e) => {
      (e as HTMLInputElement).value = '2';
    });
    await page.click('#apply');
    await waitUntil(page, readState, (v) => v.status === 'ready', 'the new comparison');
    await page.click('#toggle');
    await waitUntil(page, readState, (v) => v.status === 'training' && v.step >= 1, 'step 1');
    await page.click('#toggle');
    // The pause lands after the step in flight: in run 1, or at worst while run 2 compiles.
    const paused = await waitUntil(page, readState, (v) => v.status !== 'training', 'the pause');
    expect(paused.status).toBe('paused');
    expect(paused.message).not.toContain('done');
    expect(paused.runs?.[1]?.losses.length ?? 0).toBeLessThan(2);
    await page.click('#toggle');
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'error' || (v.status === 'paused' && v.message.includes('done')),
      'the resumed comparison to finish',
      240_000,
    );
    expect(s.error).toBeUndefined();
    expect(s.runs?.map((r) => r.losses.length)).toEqual([2, 2]);
  });

  it('logs no errors', () => {
    expect(demo.problems).toEqual([]);
  });
});
