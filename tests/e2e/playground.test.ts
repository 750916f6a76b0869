/**
 * The playground page in headless Chromium (WebGPU on SwiftShader): the XOR preset (2-2-1,
 * sigmoid, MSE) trains from the page to zero classification errors while the loss falls and the
 * boundary and hidden units are drawn; compare mode trains SGD, momentum, RMSprop and Adam side
 * by side and all four losses fall; a typo in the settings gets a clear message; without WebGPU
 * the page says so.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PlaygroundState } from '../../demo/playground/view';
import { launchChromium } from '../../scripts/chrome';
import { openPage, waitUntil, type OpenedPage } from './pages';

let browser: Browser;
const opened: OpenedPage[] = [];

const readState = (): PlaygroundState =>
  (window as unknown as { shadergradPlayground: PlaygroundState }).shadergradPlayground;

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function open(query = '', withoutWebgpu = false): Promise<Page> {
  const page = await openPage(browser, `${inject('baseUrl')}/demo/playground/${query}`, {
    withoutWebgpu,
  });
  opened.push(page);
  return page.page;
}

/** Distinct colours on a canvas, and how many pixels are not plain white. */
async function canvasColors(
  page: Page,
  selector: string,
): Promise<{ colors: number; inked: number }> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data =
      canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
    const seen = new Set<number>();
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r = 0, g = 0, b = 0] = [data[i], data[i + 1], data[i + 2]];
      seen.add((r << 16) | (g << 8) | b);
      if (r < 250 || g < 250 || b < 250) inked++;
    }
    return { colors: seen.size, inked };
  });
}

/** Clicks Train (or Resume), waits for `done`, then pauses and waits for the pause. */
async function trainUntil(
  page: Page,
  done: (s: PlaygroundState) => boolean,
  what: string,
): Promise<PlaygroundState> {
  await page.click('#toggle');
  await waitUntil(page, readState, done, what, 60_000);
  await page.click('#toggle');
  return waitUntil(
    page,
    readState,
    (s) => s.status === 'paused' || s.status === 'error',
    'the pause',
  );
}

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe('playground page', () => {
  it('the XOR preset (2-2-1 sigmoid, MSE) trains to zero classification errors', async () => {
    const page = await open();
    await waitUntil(page, readState, (s) => s.status === 'ready' || s.status === 'error', 'ready');
    await page.click('#preset-xor');
    const preset = await waitUntil(
      page,
      readState,
      (s) => (s.status === 'ready' && s.points === 4) || s.status === 'error',
      'the XOR network',
    );
    expect(preset.error).toBeUndefined();
    expect(preset.adapter?.kind).toBe('swiftshader');
    expect(preset.runs.map((r) => r.optimizer)).toEqual(['adam']);
    expect(await page.$$eval('#hidden canvas', (c) => c.length)).toBe(2);

    const s = await trainUntil(
      page,
      (v) => v.status === 'error' || (v.step > 0 && v.runs[0]?.errors === 0),
      'zero classification errors',
    );
    expect(s.error).toBeUndefined();
    const losses = s.runs[0]?.losses ?? [];
    expect(losses).toHaveLength(s.step);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(s.runs[0]?.errors).toBe(0);
    // MSE of 4 untrained sigmoid outputs against 0/1 is about 0.25; it falls as XOR is learned.
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)));
    expect(await page.$eval('#stats', (e) => (e as HTMLElement).dataset.errors)).toBe('0');
    // The boundary: tinted cells in many shades of both class colours, plus the 4 points.
    const boundary = await canvasColors(page, '#boundary');
    expect(boundary.colors).toBeGreaterThan(50);
    expect(boundary.inked).toBeGreaterThan(360 * 360 * 0.9);
    for (const unit of [1, 2]) {
      const heat = await canvasColors(page, `#hidden .units canvas:nth-child(${unit})`);
      expect(heat.colors).toBeGreaterThan(10);
    }
    await page.screenshot({ path: '/tmp/playground-xor.png', fullPage: true });
  });

  it('compare mode trains the four optimizers from the same start, and all their losses fall', async () => {
    const query =
      '?mode=compare&dataset=gaussians&classes=3&count=90&hidden=4&activation=tanh' +
      '&loss=crossEntropy&steps=10';
    const page = await open(query);
    const ready = await waitUntil(page, readState, (s) => s.status !== 'starting', 'ready');
    expect(ready.error).toBeUndefined();
    expect(ready.runs.map((r) => r.optimizer)).toEqual(['sgd', 'momentum', 'rmsprop', 'adam']);
    const s = await trainUntil(
      page,
      (v) => v.status === 'error' || v.step >= 150,
      '150 steps of each optimizer',
    );
    expect(s.error).toBeUndefined();
    const first = s.runs.map((r) => r.losses[0]);
    // Same initial weights, same points: the first loss (before any update) is the same.
    for (const f of first) expect(f).toBeCloseTo(first[0] ?? NaN, 5);
    for (const r of s.runs) {
      expect(r.losses).toHaveLength(s.step);
      expect(mean(r.losses.slice(-10))).toBeLessThan(0.5 * mean(r.losses.slice(0, 10)));
    }
    expect(await page.$$eval('#compare canvas', (c) => c.length)).toBe(4);
    for (const optimizer of ['sgd', 'momentum', 'rmsprop', 'adam']) {
      const small = await canvasColors(page, `#compare canvas[data-optimizer="${optimizer}"]`);
      expect(small.colors).toBeGreaterThan(50);
    }
    await page.screenshot({ path: '/tmp/playground-compare.png', fullPage: true });

    // A typo in a setting is named in the banner; the networks stay as they were.
    await page.$eval('input[name="hidden"]', (e) => {
      e.value = '4,x';
      e.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const typo = await waitUntil(page, readState, (v) => v.error !== undefined, 'the error');
    expect(typo.error).toContain("hidden layer width: 'x'");
    expect(typo.runs).toHaveLength(4);
    expect(await page.$eval('#error', (e) => (e as HTMLElement).hidden)).toBe(false);
  });

  it('says so when the browser has no WebGPU', async () => {
    const page = await open('', true);
    await waitUntil(page, readState, (s) => s.status !== 'starting', 'the page to give up');
    const s = await page.evaluate(readState);
    expect(s.status).toBe('no-webgpu');
    const banner = await page.$eval('#no-webgpu', (e) => ({
      hidden: (e as HTMLElement).hidden,
      text: e.textContent ?? '',
    }));
    expect(banner.hidden).toBe(false);
    expect(banner.text).toContain('WebGPU is not available, so the playground cannot train here');
    expect(banner.text).toContain('navigator.gpu');
  });

  it('logs no errors', () => {
    expect(opened.flatMap((p) => p.problems)).toEqual([]);
  });
});
