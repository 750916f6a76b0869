/**
 * Helpers for the end-to-end tests: open a page and collect everything that went wrong on it
 * (console errors, uncaught exceptions, HTTP errors), wait for a condition on the page, and
 * catch downloads in a folder.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';

export interface OpenedPage {
  page: Page;
  /** Console errors, page errors and failed responses, as text. */
  problems: string[];
}

export async function openPage(
  browser: Browser,
  url: string,
  options: {
    withoutWebgpu?: boolean;
    /** Runs before navigation, e.g. to install observers with evaluateOnNewDocument. */
    beforeLoad?: (page: Page) => Promise<unknown>;
  } = {},
): Promise<OpenedPage> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) =>
    problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  if (options.withoutWebgpu) {
    // A browser without WebGPU: navigator.gpu is gone before any page script runs.
    await page.evaluateOnNewDocument(() => {
      Reflect.deleteProperty(Navigator.prototype, 'gpu');
    });
  }
  await options.beforeLoad?.(page);
  await page.goto(url);
  return { page, problems };
}

/** Polls `read` (evaluated in the page) until `done` holds; fails with the last value seen. */
export async function waitUntil<T>(
  page: Page,
  read: () => T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await page.evaluate(read);
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last value: ${JSON.stringify(value)?.slice(0, 400)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
    value = await page.evaluate(read);
  }
  return value;
}

/** Sends the page's downloads to a fresh temporary folder; returns the folder. */
export async function catchDownloads(page: Page): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'shadergrad-e2e-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
  return dir;
}

/** Waits for a complete download named `name` in `dir`; returns its path. */
export async function downloaded(dir: string, name: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const path = join(dir, name);
  while (!existsSync(path) || readdirSync(dir).some((f) => f.endsWith('.crdownload'))) {
    if (Date.now() > deadline)
      throw new Error(`no download ${name} in ${dir} (have: ${readdirSync(dir).join(', ')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return path;
}
