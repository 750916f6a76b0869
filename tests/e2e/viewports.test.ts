/**
 * Every page fits a phone and a laptop: each is opened at 390x844 (a phone, with touch) and at
 * 1280x800, waited for until it has something to show (trained a few steps, run its kernel, its
 * benchmark), and then the document must not scroll sideways (a wide table may scroll inside its
 * own box; the page may not). Each page names every other one in the same nav, and its links
 * lead somewhere. On the phone, a finger draws on the demo's pad; on the laptop, the demo's
 * charts are redrawn at their new width when the window is resized. Screenshots of every page at
 * both widths go to test-results/screenshots/<page>-<width>.png for a reviewer to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DemoState } from '../../demo/view';
import { ROOT, launchChromium } from '../../scripts/chrome';
import { PAGES } from '../../scripts/siteNav';
import { openPage, waitUntil } from './pages';

const SHOTS = join(ROOT, 'test-results/screenshots');

interface Viewport {
  width: number;
  height: number;
  /** A phone: touch events, mobile viewport handling. */
  phone: boolean;
}

const VIEWPORTS: Viewport[] = [
  { width: 390, height: 844, phone: true },
  { width: 1280, height: 800, phone: false },
];

interface PageCase {
  name: string;
  /** Path and query: small configurations, so each page has drawn something within seconds. */
  url: string;
  /** The page's status once it has something to show. */
  shown: string;
  /** A button to press then (the kernel explorer's Run), and the status it leads to. */
  then?: { click: string; shown: string };
}

const CASES: PageCase[] = [
  {
    name: 'demo',
    url: '/demo/?features=4,8&dense=32&batch=32&limit=1024&test=100&steps=12&autostart=1',
    shown: 'paused',
  },
  // The ResNet's layer table is the widest in the demo (torchvision's dotted layer names). The
  // demo above shows the Kernels card filled in; this one skips the tuning (demo.test.ts has it).
  { name: 'demo-resnet', url: '/demo/?model=resnet&width=4&blocks=1&tune=off', shown: 'ready' },
  {
    name: 'playground',
    url: '/demo/playground/',
    shown: 'ready',
    then: { click: '#toggle', shown: 'training' },
  },
  {
    name: 'explorer',
    url: '/demo/explorer/?reps=2',
    shown: 'ready',
    then: { click: '#run', shown: 'done' },
  },
  {
    name: 'gpt',
    url: '/demo/gpt/?context=16&width=16&heads=2&layers=1&batch=8&evalEvery=10&steps=20&autostart=1',
    shown: 'paused',
  },
  {
    name: 'bench',
    url: '/bench/?quick=1&only=matmul&sizes=16,32&reps=1&warmup=1',
    shown: 'done',
  },
];

let browser: Browser;

/** The status of whichever page this is (each keeps its state on `window` for the tests). */
const readStatus = (): string => {
  const w = window as unknown as Record<string, { status: string } | undefined>;
  const names = ['Demo', 'Playground', 'Explorer', 'Gpt', 'Bench'];
  return names.map((n) => w[`shadergrad${n}`]?.status).find((s) => s !== undefined) ?? '';
};

/** Waits for `shown` (or a failure, which then fails the expectation with its name). */
async function waitFor(page: Page, shown: string, what: string): Promise<void> {
  const failed = (s: string): boolean => s === 'error' || s === 'no-webgpu';
  const status = await waitUntil(page, readStatus, (s) => s === shown || failed(s), what);
  expect(status).toBe(shown);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  console.log(
    `screenshots of every page at ${VIEWPORTS.map((v) => v.width).join(' and ')} px: ${SHOTS}`,
  );
});

/** How far the document reaches past the viewport, sideways (0 when nothing sticks out). */
function overflow(
  page: Page,
): Promise<{ scrollWidth: number; clientWidth: number; widest: string }> {
  return page.evaluate(() => {
    const root = document.scrollingElement ?? document.documentElement;
    // The element reaching furthest right, named in the failure message.
    let widest = '';
    let right = 0;
    for (const e of Array.from(document.body.querySelectorAll('*'))) {
      const r = e.getBoundingClientRect().right;
      if (r > right) [right, widest] = [r, `${e.tagName.toLowerCase()}#${e.id}.${e.className}`];
    }
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest };
  });
}

/** The site nav's links: text, whether it is the current page, and the HTTP status of its target. */
function navLinks(page: Page): Promise<{ text: string; current: boolean; status: number }[]> {
  return page.evaluate(async () => {
    const links = Array.from(document.querySelectorAll<HTMLAnchorElement>('nav.site a'));
    return Promise.all(
      links.map(async (a) => ({
        text: a.textContent?.trim() ?? '',
        current: a.getAttribute('aria-current') === 'page',
        status: (await fetch(a.href, { method: 'HEAD' })).status,
      })),
    );
  });
}

/** Draws a stroke down the demo's pad with a finger; resolves to the predictions counted. */
async function drawWithFinger(page: Page): Promise<number> {
  const pad = await page.$('#pad');
  if (!pad) throw new Error('the demo has no #pad');
  await pad.scrollIntoView();
  const after = await page.$eval('#pad', (e) => e.getBoundingClientRect().toJSON() as DOMRect);
  const at = (fx: number, fy: number): [number, number] => [
    after.left + fx * after.width,
    after.top + fy * after.height,
  ];
  const before = await page.evaluate(
    () => (window as unknown as { shadergradDemo: DemoState }).shadergradDemo.predictions,
  );
  await page.touchscreen.touchStart(...at(0.5, 0.2));
  for (let i = 1; i <= 8; i++) await page.touchscreen.touchMove(...at(0.5, 0.2 + 0.07 * i));
  await page.touchscreen.touchEnd();
  const s = await waitUntil(
    page,
    () => (window as unknown as { shadergradDemo: DemoState }).shadergradDemo,
    (v) => v.predictions > before,
    'a prediction of the drawing',
    30_000,
  );
  expect(s.probabilities?.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
  // The finger's path is ink: white down the middle of the pad, from 30% to 70% of its height.
  const ink = await page.$eval('#pad', (e) => {
    const pad = e as HTMLCanvasElement;
    const x = Math.round(pad.width / 2);
    const [y0, y1] = [Math.round(0.3 * pad.height), Math.round(0.7 * pad.height)];
    const column = pad.getContext('2d')?.getImageData(x, y0, 1, y1 - y0).data ?? [];
    return Array.from(column).filter((v, i) => i % 4 === 0 && v > 200).length / (y1 - y0);
  });
  expect(ink).toBe(1);
  return s.predictions;
}

/** A window resized: the paused demo's charts are redrawn at their new width, not stretched. */
async function expectChartsRedrawnOnResize(page: Page): Promise<void> {
  const read = () =>
    Array.from(document.querySelectorAll('canvas.chart'), (e) => {
      const c = e as HTMLCanvasElement;
      return { drawn: c.width, shown: c.clientWidth };
    });
  const before = await page.evaluate(read);
  // 700 px: the columns stack, so each chart spans the page and is shown at a new width.
  await page.setViewport({ width: 700, height: 800 });
  const after = await waitUntil(
    page,
    read,
    (all) => all.every((s) => s.drawn === s.shown),
    'the charts redrawn at their new width',
    10_000,
  );
  expect(after).toHaveLength(2);
  expect(after.map((s) => s.shown)).not.toEqual(before.map((s) => s.shown));
}

describe.each(CASES)('the $name page', (c) => {
  it.each(VIEWPORTS)('fits $width px wide, names every page and logs no errors', async (v) => {
    const { page, problems } = await openPage(browser, `${inject('baseUrl')}${c.url}`, {
      beforeLoad: (p) =>
        p.setViewport({ width: v.width, height: v.height, isMobile: v.phone, hasTouch: v.phone }),
    });
    await waitFor(page, c.shown, `the ${c.name} page to show something`);
    if (c.then) {
      await page.click(c.then.click);
      await waitFor(page, c.then.shown, `the ${c.name} page after ${c.then.click}`);
    }
    await page.screenshot({ path: join(SHOTS, `${c.name}-${v.width}.png`), fullPage: true });
    const o = await overflow(page);
    expect(
      o.scrollWidth,
      `wider than the screen; the widest element is ${o.widest}`,
    ).toBeLessThanOrEqual(o.clientWidth);
    const links = await navLinks(page);
    expect(links.map((l) => l.text)).toEqual(PAGES.map((p) => p.name));
    expect(links.filter((l) => l.current).map((l) => l.text)).toHaveLength(1);
    expect(links.map((l) => l.status)).toEqual(PAGES.map(() => 200));
    if (c.name === 'demo' && v.phone) expect(await drawWithFinger(page)).toBeGreaterThan(0);
    if (c.name === 'demo' && !v.phone) await expectChartsRedrawnOnResize(page);
    expect(problems).toEqual([]);
    await page.close();
  });
});
