/**
 * The transformer page in headless Chromium (WebGPU on SwiftShader), on a tiny GPT so the file
 * takes well under a minute: it trains on Genesis and its loss falls, the curve is drawn, a
 * sample streams in using only the text's characters, one attention map per layer and head is
 * drawn, training resumes and pauses on the button, the Generate button and a new prompt work, a short pasted text and a prompt the text
 * cannot encode get messages, a pasted text builds a model of its own vocabulary, the layout fits
 * a phone, and a browser without WebGPU gets the banner. The tests share one page, in order.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GptPageState } from '../../demo/gpt/view';
import { ROOT, launchChromium } from '../../scripts/chrome';
import { openPage, waitUntil, type OpenedPage } from './pages';

const STEPS = 60;
const CHARS = 60;
const [LAYERS, HEADS] = [2, 2];
const TINY = `context=16&width=16&heads=${HEADS}&layers=${LAYERS}&batch=8&evalEvery=20&sampleEvery=0&chars=${CHARS}`;
const GENESIS = new Set(readFileSync(`${ROOT}/texts/genesis.txt`, 'utf8'));

let browser: Browser;
let gpt: OpenedPage;

const readState = (): GptPageState =>
  (window as unknown as { shadergradGpt: GptPageState }).shadergradGpt;

/** Not building, training or generating: what the page does next is up to the user. */
const idle = (s: GptPageState): boolean =>
  (s.status === 'paused' || s.status === 'ready' || s.status === 'error') && !s.generating;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const text = (page: Page, selector: string): Promise<string> =>
  page.$eval(selector, (e) => e.textContent ?? '');

/** Replaces an input's value by typing, as a user does. */
async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(selector, (e) => ((e as HTMLInputElement).value = ''));
  await page.type(selector, value);
}

beforeAll(async () => {
  browser = await launchChromium();
  gpt = await openPage(
    browser,
    `${inject('baseUrl')}/demo/gpt/?${TINY}&steps=${STEPS}&autostart=1`,
  );
});

afterAll(async () => {
  await browser?.close();
});

describe('transformer page', () => {
  it('trains a tiny GPT on Genesis: the loss falls, a sample streams in, the maps are drawn', async () => {
    const { page } = gpt;
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'error' || (idle(v) && v.generations > 0),
      'training to stop and sample',
    );
    expect(s.error).toBeUndefined();
    expect(s.status).toBe('paused');
    expect(s.adapter?.kind).toBe('swiftshader');
    expect(s.vocab).toBe(GENESIS.size);
    expect(s.steps).toBe(STEPS);
    // A loss read every 5 steps, a validation loss every 20.
    expect(s.losses.map(([step]) => step)).toEqual(Array.from({ length: 12 }, (_, i) => 5 * i + 5));
    expect(s.validation.map(([step]) => step)).toEqual([20, 40, 60]);
    const losses = s.losses.map(([, loss]) => loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    // Untrained: about ln 60 = 4.1. At lr 1e-2 the loss is near 3.2 over steps 5-10 and 2.5
    // over 50-60 (one run). Batches of 8 windows are noisy, so means of a few reads are compared.
    expect(mean(losses.slice(0, 2))).toBeLessThan(Math.log(GENESIS.size) + 0.3);
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 2)) - 0.4);
    expect(s.validation.at(-1)?.[1]).toBeLessThan(s.validation[0]?.[1] ?? 0);
    expect(s.tokensPerSecond).toBeGreaterThan(0);
    // The sample after the stop: CHARS characters, all of them Genesis's, after the prompt.
    expect(Array.from(s.generated)).toHaveLength(CHARS);
    expect(Array.from(s.generated).filter((c) => !GENESIS.has(c))).toEqual([]);
    expect(await text(page, '#sample')).toBe(`And God said${s.generated}`);
    // One map per layer and head, 12 x 12 cells (the prompt) with the characters as labels.
    expect(s.maps).toBe(LAYERS * HEADS);
    const layers = await page.$$eval('#maps .layer', (rows) =>
      rows.map((r) => r.querySelectorAll('canvas').length),
    );
    expect(layers).toEqual([HEADS, HEADS]);
    const blues = await page.$eval('#maps canvas', (canvas) => {
      const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < (data?.length ?? 0); i += 4)
        if ((data?.[i + 2] ?? 0) > (data?.[i] ?? 0) + 40) n++; // blue well above red: weight
      return n;
    });
    expect(blues).toBeGreaterThan(100);
    expect(await text(page, '#stats')).toContain('tokens/s');
    await page.screenshot({ path: '/tmp/gpt-trained.png', fullPage: true });
  });

  it('resumes past the stop on the button and pauses on it', async () => {
    const { page } = gpt;
    expect(await text(page, '#toggle')).toBe('Resume');
    await page.click('#toggle');
    let s = await waitUntil(page, readState, (v) => v.steps >= STEPS + 10, 'more steps');
    expect(s.status).toBe('training');
    expect(await text(page, '#toggle')).toBe('Pause');
    await page.click('#toggle');
    s = await waitUntil(page, readState, (v) => v.status !== 'training', 'the pause');
    expect(s.status).toBe('paused');
    const paused = s.steps;
    await new Promise((r) => setTimeout(r, 500));
    expect((await page.evaluate(readState)).steps).toBe(paused);
  });

  it('generates from a new prompt on the button and redraws the maps for it', async () => {
    const { page } = gpt;
    await typeInto(page, '#prompt', 'In the beginning');
    await page.click('#generate');
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'error' || (idle(v) && v.generations === 2),
      'the second sample',
    );
    expect(s.error).toBeUndefined();
    expect(Array.from(s.generated)).toHaveLength(CHARS);
    expect(await text(page, '#sample .prompt')).toBe('In the beginning');
    // The prompt is 16 characters, the context: maps of 16 x 16 cells.
    const sizes = await page.$$eval('#maps canvas', (cs) => cs.map((c) => c.width));
    expect(new Set(sizes).size).toBe(1);
    expect(s.maps).toBe(LAYERS * HEADS);
  });

  it('refuses a prompt the text cannot encode, and a short text, with messages', async () => {
    const { page } = gpt;
    await typeInto(page, '#prompt', 'Quiet');
    await page.click('#generate');
    expect(await text(page, '#sample-message')).toBe(
      `Cannot generate: the prompt's "Q" is not among the text's ${GENESIS.size} characters, so the model cannot read it`,
    );
    await page.select('#corpus', 'own');
    await page.type('#own-text', 'Too short to learn from.');
    await page.click('#apply');
    const s = await waitUntil(page, readState, (v) => v.invalid !== '', 'the refusal');
    expect(s.invalid).toBe(
      'The text has 24 characters; paste at least 300 (a few paragraphs) for the model to learn from.',
    );
    expect(await text(page, '#message')).toBe(s.invalid);
    // The model trained so far is kept.
    expect(s.status).toBe('paused');
    expect(s.steps).toBeGreaterThan(STEPS);
  });

  it('builds a model of a pasted text, with its own vocabulary and prompt', async () => {
    const { page } = gpt;
    const pasted = 'the cat sat on the mat. '.repeat(20);
    await page.$eval('#own-text', (e, t) => ((e as HTMLTextAreaElement).value = t), pasted);
    await page.click('#apply');
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status === 'error' || (v.status === 'ready' && v.maps > 0),
      'the new model',
    );
    expect(s.error).toBeUndefined();
    expect(s.invalid).toBe('');
    expect([s.steps, s.losses, s.generations]).toEqual([0, [], 0]);
    expect(s.vocab).toBe(new Set(pasted).size);
    // "Quiet" is not readable here: the prompt becomes the text's first characters.
    expect(await page.$eval('#prompt', (e) => (e as HTMLInputElement).value)).toBe('the cat sat ');
  });

  it('fits a phone screen (390 px) without sideways scrolling', async () => {
    const { page } = gpt;
    await page.setViewport({ width: 390, height: 844 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: '/tmp/gpt-phone.png', fullPage: true });
  });

  it('logs no errors', () => {
    expect(gpt.problems).toEqual([]);
  });
});

describe('transformer page without WebGPU', () => {
  it('shows the banner', async () => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}/demo/gpt/`, {
      withoutWebgpu: true,
    });
    const s = await waitUntil(
      page,
      readState,
      (v) => v.status !== 'starting',
      'the page to give up',
    );
    expect(s.status).toBe('no-webgpu');
    expect(await text(page, '#no-webgpu')).toContain('WebGPU is not available');
    expect(await page.$eval('#toggle', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
