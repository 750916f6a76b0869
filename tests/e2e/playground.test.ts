/**
 * The playground page in headless Chromium (WebGPU on SwiftShader): the XOR preset (2-2-1,
 * sigmoid, MSE) trains from the page to zero classification errors while the loss falls and the
 * boundary and hidden units are drawn, and switching to spirals then brings the spirals defaults;
 * compare mode trains SGD, momentum, RMSprop and Adam side by side and all four losses fall;
 * Step takes exactly one step; the test set's errors and loss are shown apart; the URL reproduces
 * the setup on another page; bad values (typed or in a link) are named beside their field; without
 * WebGPU the page says so.
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

/** Sets a form field as a user would, firing its change event. */
async function setField(page: Page, name: string, value: string): Promise<void> {
  await page.$eval(
    `[name="${name}"]`,
    (e, v) => {
      (e as HTMLInputElement).value = v;
      e.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}

/** Every form field's value, by name. */
function formValues(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#settings [name]', (fields) =>
    Object.fromEntries(
      fields.map((f) => [f.getAttribute('name') ?? '', (f as HTMLInputElement).value]),
    ),
  );
}

/** The message shown beside `control`, or undefined when none is visible. */
function errorBeside(page: Page, control: string): Promise<string | undefined> {
  return page.evaluate((c) => {
    const slot = document.querySelector<HTMLElement>(`[data-error-for="${c}"]`);
    return slot && !slot.hidden ? (slot.textContent ?? '') : undefined;
  }, control);
}

const settled = (s: PlaygroundState): boolean => s.status !== 'starting';

/** Clicks Step and waits for the step count to reach `step`. */
async function stepTo(page: Page, step: number): Promise<PlaygroundState> {
  await page.click('#step');
  return waitUntil(
    page,
    readState,
    (s) => (s.step === step && s.status === 'paused') || s.status === 'error',
    `step ${step}`,
  );
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

    // XOR -> spirals: every setting still at its XOR default takes the spirals default.
    await setField(page, 'dataset', 'spirals');
    const spirals = await waitUntil(
      page,
      readState,
      (v) => (v.status === 'ready' && v.points !== 4) || v.status === 'error',
      'the spirals network',
    );
    expect(spirals.error).toBeUndefined();
    const form = await formValues(page);
    expect(form).toMatchObject({
      dataset: 'spirals',
      count: '300',
      noise: '0.02',
      test: '0.2',
      seed: '1',
      hidden: '16,16',
      activation: 'tanh',
      loss: 'crossEntropy',
      optimizer: 'adam',
      lr: '0.02',
    });
    expect(spirals.points + spirals.testPoints).toBe(300);
    expect(spirals.testPoints).toBe(60);
    expect(await page.$$eval('#hidden canvas', (c) => c.length)).toBe(16 + 16);
    expect(await page.evaluate(() => location.search)).toContain('dataset=spirals');
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

    // A typo in a setting is named beside its field; the networks stay as they were.
    await setField(page, 'hidden', '4,x');
    const typo = await waitUntil(page, readState, (v) => v.error !== undefined, 'the error');
    expect(typo.error).toContain("hidden layer width: 'x'");
    expect(typo.runs).toHaveLength(4);
    expect(typo.step).toBe(s.step);
    expect(await errorBeside(page, 'hidden')).toContain("hidden layer width: 'x'");
    expect(await page.$eval('#error', (e) => (e as HTMLElement).hidden)).toBe(true);
    await setField(page, 'hidden', '4');
    await waitUntil(page, readState, (v) => v.error === undefined, 'the error to clear');
    expect(await errorBeside(page, 'hidden')).toBeUndefined();
  });

  it('Step takes exactly one step while paused; the test errors and loss are shown apart', async () => {
    const page = await open('?dataset=circles&count=120&test=0.25&seed=4&steps=10');
    const ready = await waitUntil(page, readState, settled, 'ready');
    expect(ready.error).toBeUndefined();
    expect([ready.points, ready.testPoints]).toEqual([90, 30]);
    expect(ready.runs[0]?.testLosses).toHaveLength(1); // the test loss before any step
    const draws = ready.draws;
    const one = await stepTo(page, 1);
    expect(one.error).toBeUndefined();
    expect(one.runs[0]?.losses).toHaveLength(1);
    expect(one.draws).toBe(draws + 1);
    const two = await stepTo(page, 2);
    expect(two.runs[0]?.losses).toHaveLength(2);
    expect(two.runs[0]?.testLosses.map(([step]) => step)).toEqual([0, 1, 2]);
    const stats = await page.$eval('#stats', (e) => ({
      text: e.textContent ?? '',
      data: { ...(e as HTMLElement).dataset },
    }));
    expect(stats.data.step).toBe('2');
    expect(stats.text).toContain('test errors');
    expect(stats.data.testErrors).toBe(String(two.runs[0]?.testErrors));
    expect(Number(stats.data.testErrors)).toBeLessThanOrEqual(30);
    expect(Number(stats.data.testLoss)).toBeGreaterThan(0);
    await page.screenshot({ path: '/tmp/playground-split.png', fullPage: true });
    // While training, Step is disabled; after the pause it steps on from where training stopped.
    const stepDisabled = () => page.$eval('#step', (b) => (b as HTMLButtonElement).disabled);
    await page.click('#toggle');
    await waitUntil(page, readState, (v) => v.step >= 40 || v.status === 'error', '40 steps');
    expect(await stepDisabled()).toBe(true);
    await page.click('#toggle');
    const paused = await waitUntil(page, readState, (v) => v.status !== 'training', 'the pause');
    expect(paused.error).toBeUndefined();
    expect(await stepDisabled()).toBe(false);
    const next = await stepTo(page, paused.step + 1);
    expect(next.runs[0]?.losses).toHaveLength(paused.step + 1);
  });

  it('the URL reproduces the setup on another page', async () => {
    const a = await open('?dataset=gaussians&classes=4');
    await waitUntil(a, readState, settled, 'ready');
    await setField(a, 'optimizer', 'rmsprop');
    await setField(a, 'hidden', '7,3');
    await setField(a, 'test', '0.3');
    const built = await waitUntil(
      a,
      readState,
      // 150 points in 4 classes of 37 or 38: 11 of each held out.
      (s) => (s.status === 'ready' && s.testPoints === 44) || s.status === 'error',
      'the new network',
    );
    expect(built.error).toBeUndefined();
    const url = await a.evaluate(() => location.href);
    expect(url).toContain('optimizer=rmsprop');
    expect(url).toContain('hidden=7%2C3');
    expect(url).toContain('classes=4');
    const b = await open(url.slice(url.indexOf('?')));
    const there = await waitUntil(b, readState, settled, 'the shared setup');
    expect(there.error).toBeUndefined();
    expect(await formValues(b)).toEqual(await formValues(a));
    expect([there.points, there.testPoints]).toEqual([built.points, built.testPoints]);
    // Same points, split and initial weights: the first step's loss is the same on both pages.
    const sb = await stepTo(b, 1);
    await a.bringToFront(); // a background tab gets no clicks
    const sa = await stepTo(a, 1);
    expect(sb.runs[0]?.losses[0]).toBeCloseTo(sa.runs[0]?.losses[0] ?? NaN, 5);
    expect(sb.runs[0]?.testErrors).toBe(sa.runs[0]?.testErrors);
  });

  it('bad values in a link are named beside their fields and the page still works', async () => {
    const page = await open('?dataset=spirals&count=abc&hidden=4,x&optimizer=sgd');
    const s = await waitUntil(page, readState, settled, 'ready');
    expect(s.status).toBe('ready');
    expect(s.runs.map((r) => r.optimizer)).toEqual(['sgd']);
    expect(await errorBeside(page, 'count')).toBe(
      "points: 'abc', expected a whole number from 4 to 2000",
    );
    expect(await errorBeside(page, 'hidden')).toContain("hidden layer width: 'x'");
    // The bad fields took the spirals defaults; the page trains.
    expect(await formValues(page)).toMatchObject({ count: '300', hidden: '16,16' });
    const stepped = await stepTo(page, 1);
    expect(stepped.runs[0]?.losses).toHaveLength(1);
    // Fixing one field clears its message only.
    await setField(page, 'count', '100');
    await waitUntil(page, readState, (v) => v.points === 80, 'the 100-point network');
    expect(await errorBeside(page, 'count')).toBeUndefined();
    expect(await errorBeside(page, 'hidden')).toContain("hidden layer width: 'x'");
    expect(await page.evaluate(() => location.search)).toContain('count=100');
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
