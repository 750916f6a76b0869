/**
 * Both pages in a browser without WebGPU show a clear message instead of failing silently:
 * once with navigator.gpu removed before the page loads, once in Chromium started without the
 * WebGPU flags (where a headless browser has no usable adapter).
 */
import type { Browser } from 'puppeteer-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from '../../scripts/chrome';
import { openPage, waitUntil } from './pages';

const browsers: Browser[] = [];

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
});

async function browser(webgpu: boolean): Promise<Browser> {
  const b = await launchChromium({ webgpu });
  browsers.push(b);
  return b;
}

const readStatus = (): string | undefined => {
  const w = window as unknown as {
    shadergradDemo?: { status: string };
    shadergradBench?: { status: string };
  };
  return (w.shadergradDemo ?? w.shadergradBench)?.status;
};

async function expectMessage(b: Browser, path: string, withoutWebgpu: boolean): Promise<string> {
  const { page, problems } = await openPage(b, `${inject('baseUrl')}${path}`, { withoutWebgpu });
  await waitUntil(
    page,
    readStatus,
    (s) => s === 'no-webgpu' || s === 'error',
    'the page to give up',
    30_000,
  );
  expect(await page.evaluate(readStatus)).toBe('no-webgpu');
  const banner = await page.$eval('#no-webgpu', (e) => ({
    hidden: (e as HTMLElement).hidden,
    text: e.textContent ?? '',
  }));
  expect(banner.hidden).toBe(false);
  expect(banner.text).toContain('WebGPU is not available');
  expect(banner.text).toContain('Chrome');
  expect(problems).toEqual([]);
  return banner.text;
}

describe('without WebGPU', () => {
  it('the demo and the bench page say so when navigator.gpu is missing', async () => {
    const b = await browser(true);
    const demo = await expectMessage(b, '/demo/', true);
    expect(demo).toContain('navigator.gpu');
    const page = (await b.pages()).at(-1);
    await page?.screenshot({ path: '/tmp/demo-no-webgpu.png' });
    await expectMessage(b, '/bench/', true);
  });

  it('the demo says so in Chromium started without the WebGPU flags', async () => {
    await expectMessage(await browser(false), '/demo/', false);
  });
});
