/**
 * The demo's train/pause/resume state machine and its errors in headless Chromium (WebGPU on
 * SwiftShader), on a tiny network: Pause clicked twice quickly, and again while pausing, ends
 * paused with the step count still, and Resume resumes; a bad checkpoint (random bytes, then
 * another model's tensors) shows its error beside Load and locks nothing, and a good one saved
 * by the page loads after it and trains on. The tests share one page and run in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DemoState } from '../../demo/view';
import { launchChromium } from '../../scripts/chrome';
import { mulberry32, writeSafetensors } from '../../src/index';
import { catchDownloads, downloaded, openPage, waitUntil, type OpenedPage } from './pages';

/**
 * Tiny, so a step takes milliseconds; 500 test images make the pause's evaluation last. Untuned:
 * the tuner is tested in demo.test.ts, and here it would only add seconds before the first step.
 */
const TINY = 'features=4,8&dense=32&batch=32&limit=2048&lr=0.003&test=500&tune=off';
/** How long a paused page is watched for steps that should not come. */
const STILL_MS = 2000;

let browser: Browser;
let demo: OpenedPage;
let downloads: string;

const readState = (): DemoState =>
  (window as unknown as { shadergradDemo: DemoState }).shadergradDemo;

/** What the controls show: the toggle, which ones are enabled, the errors beside them. */
const readControls = () => {
  const q = (id: string) => document.getElementById(id);
  const enabled = (id: string) => !(q(id) as HTMLButtonElement | HTMLInputElement).disabled;
  const shown = (id: string) => (q(id)?.hidden ? undefined : (q(id)?.textContent ?? ''));
  return {
    toggle: q('toggle')?.textContent,
    enabled: ['toggle', 'evaluate', 'save-model', 'save-first', 'load', 'apply'].filter(enabled),
    loadError: shown('load-error'),
    banner: shown('error'),
  };
};

const ALL_CONTROLS = ['toggle', 'evaluate', 'save-model', 'save-first', 'load', 'apply'];

/** Waits until the page is paused, then checks that no step comes for STILL_MS. */
async function expectStillPaused(page: Page): Promise<DemoState> {
  const paused = await waitUntil(page, readState, (v) => v.status !== 'training', 'the pause');
  expect(paused.run.phase).toBe('paused');
  expect(paused.message).toBe(`Paused after step ${paused.step}.`);
  await new Promise((r) => setTimeout(r, STILL_MS));
  const later = await page.evaluate(readState);
  expect(later.run.phase).toBe('paused');
  expect(later.step).toBe(paused.step);
  expect(later.losses).toHaveLength(paused.losses.length);
  expect(await page.evaluate(readControls)).toMatchObject({ toggle: 'Resume' });
  return later;
}

/** Clicks Resume and waits for `more` steps past where it was. */
async function resume(page: Page, more: number): Promise<void> {
  const from = (await page.evaluate(readState)).step;
  await page.click('#toggle');
  await waitUntil(
    page,
    readState,
    (v) => v.status === 'training' && v.step >= from + more,
    `${more} steps after resuming`,
  );
}

/** Offers `path` to the Load control. */
async function upload(page: Page, path: string): Promise<void> {
  const input = (await page.$('#load')) as ElementHandle<HTMLInputElement> | null;
  if (!input) throw new Error('no #load input');
  await input.uploadFile(path);
}

beforeAll(async () => {
  browser = await launchChromium();
  demo = await openPage(browser, `${inject('baseUrl')}/demo/?${TINY}&autostart=1`);
  downloads = await catchDownloads(demo.page);
  // The phase at every press on the page, to show where each click landed.
  await demo.page.evaluate(() => {
    const w = window as unknown as { presses: string[]; shadergradDemo: DemoState };
    w.presses = [];
    addEventListener('pointerdown', () => w.presses.push(w.shadergradDemo.run.phase), true);
  });
});

afterAll(async () => {
  await browser?.close();
});

const presses = () => (window as unknown as { presses: string[] }).presses.splice(0);

describe('demo page, pause and checkpoint errors', () => {
  it('Pause clicked twice quickly ends paused, the steps stop, and Resume resumes', async () => {
    const { page } = demo;
    await waitUntil(page, readState, (v) => v.status === 'training' && v.step >= 3, 'step 3');
    await page.evaluate(presses);
    await page.click('#toggle', { count: 2 });
    expect(await page.evaluate(presses)).toEqual(['training', 'pausing']);
    await expectStillPaused(page);
    await resume(page, 5);
  });

  it('a click while pausing does nothing: it stays paused and resumes on the next click', async () => {
    const { page } = demo;
    await page.evaluate(presses);
    await page.click('#toggle');
    await page.waitForFunction(
      () => document.getElementById('toggle')?.textContent === 'Pausing...',
      {
        polling: 'mutation',
      },
    );
    await page.click('#toggle');
    expect(await page.evaluate(presses)).toEqual(['training', 'pausing']);
    await expectStillPaused(page);
    await resume(page, 5);
    await page.click('#toggle');
    await expectStillPaused(page);
  });

  it('a bad checkpoint shows its error beside Load and locks nothing; a good one then loads', async () => {
    const { page } = demo;
    await page.click('#save-model');
    const good = await downloaded(downloads, 'model.safetensors');
    const random = join(downloads, 'random.safetensors');
    const bytes = new Uint8Array(4096);
    const next = mulberry32(7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
    writeFileSync(random, bytes);
    // Another model's first layer: a valid file whose shape does not fit this network.
    const other = join(downloads, 'other.safetensors');
    const weight = { dtype: 'F32' as const, shape: [6, 1, 5, 5], data: new Float32Array(150) };
    writeFileSync(other, writeSafetensors({ 'conv1.weight': weight }));

    for (const [path, name] of [
      [random, 'random.safetensors'],
      [other, 'other.safetensors'],
    ] as const) {
      await upload(page, path);
      const failed = await waitUntil(
        page,
        readControls,
        (c) => c.loadError !== undefined && c.enabled.length === ALL_CONTROLS.length,
        `the error of ${name}`,
      );
      expect(failed.loadError).toContain(name);
      expect(failed).toMatchObject({ toggle: 'Resume', enabled: ALL_CONTROLS });
      expect(failed.banner).toBeUndefined();
      const s = await page.evaluate(readState);
      expect(s.run.phase).toBe('paused');
      expect(s.loaded).toBeUndefined();
    }
    expect((await page.evaluate(readControls)).loadError).toContain('conv1.weight');
    await page.screenshot({ path: '/tmp/demo-load-error.png', fullPage: true });

    // Save still works after the errors, and a good checkpoint loads and clears the error.
    await page.click('#save-first');
    expect(readFileSync(await downloaded(downloads, 'conv1.safetensors')).length).toBeGreaterThan(
      8,
    );
    await upload(page, good);
    const loaded = await waitUntil(
      page,
      readState,
      (v) => v.loaded === 'model.safetensors' && v.run.phase === 'paused',
      'the good checkpoint',
    );
    expect(loaded.run.errors).toEqual({});
    expect((await page.evaluate(readControls)).loadError).toBeUndefined();
    await resume(page, 5);
    await page.click('#toggle');
    await expectStillPaused(page);
  });

  it('logs no errors', () => {
    expect(demo.problems).toEqual([]);
  });
});
