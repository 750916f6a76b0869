/**
 * The kernel explorer in headless Chromium (WebGPU on SwiftShader): matmul registerTile on an
 * awkward shape, a strided max-pool backward and a top-k token draw agree with their CPU twins
 * within tolerance and report a positive throughput, the source panel shows the family's header
 * and highlights the dispatched entry point, every kernel listed passes at its default sizes, bad
 * or oversized sizes give a message instead of a run, and a browser without WebGPU gets the
 * banner (the sources still show). Editing: a correct edit passes, a compile error shows its
 * line:col beside the editor and Reset restores the library's source; the "remove the staging
 * barrier" preset is caught by the race detector and the off-by-one preset by the max error; the
 * runs table keeps runs of different kernels side by side, and a run does not narrow the source.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExplorerState } from '../../demo/explorer/view';
import { launchChromium } from '../../scripts/chrome';
import { openPage, waitUntil, type OpenedPage } from './pages';

let browser: Browser;
let explorer: OpenedPage;

const readState = (): ExplorerState =>
  (window as unknown as { shadergradExplorer: ExplorerState }).shadergradExplorer;

const settled = (s: ExplorerState): boolean => s.status !== 'starting' && s.status !== 'running';

beforeAll(async () => {
  browser = await launchChromium();
  explorer = await openPage(browser, `${inject('baseUrl')}/demo/explorer/`);
  await waitUntil(explorer.page, readState, settled, 'the page to find its adapter');
});

afterAll(async () => {
  await browser?.close();
});

/** Picks a kernel in the list and types sizes into its fields, as a user does. */
async function choose(page: Page, kernel: string, sizes: Record<string, string>): Promise<void> {
  await page.select('#kernel', kernel);
  for (const [key, value] of Object.entries(sizes)) {
    const selector = `#fields [name="${key}"]`;
    await page.$eval(selector, (e) => ((e as HTMLInputElement).value = ''));
    await page.type(selector, value);
  }
}

async function runAndWait(page: Page): Promise<ExplorerState> {
  await page.click('#run');
  return waitUntil(page, readState, settled, 'the run to finish');
}

/** Replaces the editor's text, as typing would (an input event). */
async function typeSource(page: Page, source: string): Promise<void> {
  await page.$eval(
    '#editor',
    (e, value) => {
      (e as HTMLTextAreaElement).value = value;
      e.dispatchEvent(new Event('input'));
    },
    source,
  );
}

/** Clicks a "break it" preset (it edits and runs) and waits for the run. */
async function clickPreset(page: Page, id: string): Promise<ExplorerState> {
  await page.click(`#presets [data-preset="${id}"]`);
  return waitUntil(page, readState, settled, `the ${id} run to finish`);
}

const text = (page: Page, selector: string): Promise<string> =>
  page.$eval(selector, (e) => e.textContent ?? '');

/** The highlighted lines of the source panel: the entry points' functions. */
const highlighted = (page: Page): Promise<string> =>
  page.$$eval('#source .entry', (lines) => lines.map((l) => l.textContent).join('\n'));

describe('kernel explorer', () => {
  it('runs matmul registerTile at 65x33x17 within tolerance, with GFLOP/s and its source', async () => {
    const { page } = explorer;
    expect((await page.evaluate(readState)).status).toBe('ready');
    await choose(page, 'matmul.registerTile', { M: '65', K: '33', N: '17' });
    const s = await runAndWait(page);
    expect(s.status, s.error ?? s.message).toBe('done');
    const r = s.result;
    if (!r) throw new Error('no result');
    expect(r.kernel).toBe('matmul.registerTile');
    expect(r.shape).toBe('M=65 K=33 N=17');
    // N = 17 is no multiple of 4, so the wrapper takes the scalar register-tile entry point.
    expect(r.calls).toEqual([expect.stringContaining('matmul.matmulRegisterTile(')]);
    expect(r.comparisons.map((c) => c.output)).toEqual(['C']);
    for (const c of r.comparisons) {
      expect(c.mismatches).toBe(0);
      expect(c.maxError).toBeLessThanOrEqual(c.atol);
    }
    expect(r.passed).toBe(true);
    expect(r.unit).toBe('GFLOP/s');
    expect(r.work).toBe(2 * 65 * 33 * 17);
    expect(r.throughput).toBeGreaterThan(0);
    expect(r.timing.samplesMs).toHaveLength(5);
    expect(await text(page, '#verdict')).toContain('pass');
    expect(await text(page, '#throughput')).toMatch(/^[\d.]+(e[+-]\d+)? GFLOP\/s/);
    expect(await page.$$eval('#comparisons tbody tr', (rows) => rows.length)).toBe(1);
    // The source: the family's header comment first, the entry point highlighted.
    expect(await text(page, '#source h3')).toBe('shaders/matmul.wgsl');
    expect(await text(page, '#source pre.header')).toMatch(
      /^\/\/ matmul\.wgsl: batched matrix products/,
    );
    const entry = await highlighted(page);
    expect(entry).toContain('fn matmulRegisterTile(');
    expect(entry).not.toContain('fn matmulNaive(');
    // The URL now holds the run's settings.
    expect(new URL(page.url()).searchParams.get('M')).toBe('65');
    await page.screenshot({ path: '/tmp/explorer-matmul.png', fullPage: true });
  });

  it('runs maxPool backward with overlapping windows, in GB/s', async () => {
    const { page } = explorer;
    await choose(page, 'maxPool.backward', {
      N: '2',
      C: '3',
      H: '9',
      W: '7',
      kernel: '3',
      stride: '2',
    });
    expect(await text(page, '#source h3')).toBe('shaders/maxPool.wgsl');
    const s = await runAndWait(page);
    expect(s.status, s.error ?? s.message).toBe('done');
    const r = s.result;
    if (!r) throw new Error('no result');
    expect(r.shape).toBe('[2, 3, 9, 7] k3x3 s2x2');
    expect(r.calls).toEqual([expect.stringContaining('maxPool.maxPoolBackward(')]);
    const [dX] = r.comparisons;
    expect(dX?.output).toBe('dX');
    expect(dX?.mismatches).toBe(0);
    expect(dX?.maxError).toBeLessThanOrEqual(dX?.atol ?? 0);
    expect(r.unit).toBe('GB/s');
    expect(r.throughput).toBeGreaterThan(0);
    expect(await text(page, '#source pre.header')).toContain('maxPool.wgsl: 2-D max pooling');
    expect(await highlighted(page)).toContain('fn maxPoolBackward(');
    await page.screenshot({ path: '/tmp/explorer-pool.png', fullPage: true });
  });

  it("draws a token with top-k on the GPU, the twin's id, with sample.wgsl shown", async () => {
    const { page } = explorer;
    await choose(page, 'sample.sampleToken', { rows: '3', V: '65', topK: '5' });
    expect(await text(page, '#source h3')).toBe('shaders/sample.wgsl');
    const s = await runAndWait(page);
    expect(s.status, s.error ?? s.message).toBe('done');
    const r = s.result;
    if (!r) throw new Error('no result');
    expect(r.shape).toMatch(/^rows=3 V=65 topK=5 temperature=0\.8 u=0\.\d{4}$/);
    expect(r.calls).toEqual([expect.stringContaining('sample.sampleToken(3x65)')]);
    // u lies inside the drawn id's CDF interval: the GPU drew the twin's id.
    const [token] = r.comparisons;
    const ids = /^token (\d+) \(twin (\d+)\)$/.exec(token?.output ?? '');
    expect(ids?.[1]).toBe(ids?.[2]);
    expect(token?.mismatches).toBe(0);
    expect(token?.maxError).toBe(0);
    expect(r.unit).toBe('GB/s');
    expect(r.work).toBe(4 * (65 + 4 + 1));
    expect(r.throughput).toBeGreaterThan(0);
    expect(await highlighted(page)).toContain('fn sampleToken(');
  });

  it('runs every kernel in the list at its default sizes within tolerance', async () => {
    const { page } = explorer;
    const ids = await page.$$eval('#kernel option', (options) =>
      options.filter((o) => !o.disabled).map((o) => o.value),
    );
    // Among them, what the explorer must offer: matmul variants, im2col/col2im, conv, pools,
    // activations, softmax-CE, optimizers, bias and the reduction, and the transformer's layer
    // norm, causal softmax, GELU, transpose, embedding and token draw, forward and backward.
    for (const id of [
      'matmul.naive',
      'matmul.workgroupTile',
      'conv2dIm2col.col2im',
      'conv2d.backward',
      'avgPool.forward',
      'activation.backward',
      'softmaxCrossEntropy.forwardBackward',
      'optimizer.adam',
      'optimizer.rmsprop',
      'bias.backward',
      'reduce.lossMean',
      'layerNorm.backward',
      'softmax.causal backward',
      'gelu.forward',
      'gelu.backward',
      'transpose.transpose',
      'embedding.forward',
      'embedding.backward',
      'sample.sampleToken',
    ])
      expect(ids).toContain(id);
    await page.$eval('#reps', (e) => ((e as HTMLInputElement).value = '1'));
    const failed: string[] = [];
    for (const id of ids) {
      await page.select('#kernel', id);
      const s = await runAndWait(page);
      const r = s.result;
      // verdict 'pass': within tolerance, and no races where the race detector runs.
      if (s.status !== 'done' || !r?.passed || r.verdict !== 'pass' || !(r.throughput > 0))
        failed.push(`${id}: ${s.status} ${s.error ?? s.message} ${JSON.stringify(r?.comparisons)}`);
    }
    expect(failed).toEqual([]);
  });

  it('refuses bad sizes with a message, before running anything', async () => {
    const { page } = explorer;
    await choose(page, 'matmul.naive', { M: '0', K: '8', N: '8' });
    let s = await runAndWait(page);
    expect(s.status).toBe('invalid');
    expect(s.result).toBeUndefined();
    expect(s.message).toBe('M = 0: expected a whole number >= 1');
    expect(await page.$eval('#message', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await text(page, '#message')).toBe(s.message);
    // Too big for the device: A alone would be 4·10^10 bytes.
    await choose(page, 'matmul.naive', { M: '100000', K: '100000', N: '8' });
    s = await runAndWait(page);
    expect(s.status).toBe('invalid');
    expect(s.message).toMatch(/^Too big for this device: A would take 37\.3 GiB, over its largest/);
    // A geometry that makes no sense: a 9x9 window on a 7-wide input.
    await choose(page, 'avgPool.forward', { H: '9', W: '7', kernel: '9', stride: '1' });
    s = await runAndWait(page);
    expect(s.status).toBe('invalid');
    expect(s.message).toContain('larger than the 9x7 input');
  });

  it('runs an edited kernel, shows a compile error beside the editor, and resets', async () => {
    const { page } = explorer;
    await choose(page, 'matmul.naive', { M: '37', K: '43', N: '29' });
    await page.click('#edit');
    expect(await page.$eval('#editor', (e) => (e as HTMLElement).hidden)).toBe(false);
    const library = await page.$eval('#editor', (e) => (e as HTMLTextAreaElement).value);
    const line = '        sum += loadA(aBase, row, k) * loadB(bBase, k, col);';
    expect(library).toContain(line);
    // A correct edit: the same product as one fused multiply-add.
    await typeSource(
      page,
      library.replace(line, '        sum = fma(loadA(aBase, row, k), loadB(bBase, k, col), sum);'),
    );
    let s = await runAndWait(page);
    expect(s.status, s.error ?? s.message).toBe('done');
    expect(s.result?.source).toBe('edited matmul');
    expect(s.result?.edited).toEqual(['matmul']);
    expect(s.result?.passed).toBe(true);
    expect(s.result?.verdict).toBe('pass');
    // A compile error: reported with its line:col in matmul.wgsl, the page still usable.
    const lines = library.split('\n');
    const at = lines.indexOf(line);
    await typeSource(page, library.replace(line, '        sum += undefinedName;'));
    s = await runAndWait(page);
    expect(s.status).toBe('invalid');
    expect(s.compileError).toMatch(new RegExp(`matmul\\.wgsl:${at + 1}:\\d+ .*undefinedName`));
    expect(await text(page, '#compile-error')).toBe(s.compileError);
    // The cursor is put on the line the compiler names; the tab says the file is edited.
    const cursorLine = await page.$eval('#editor', (e) => {
      const area = e as HTMLTextAreaElement;
      return area.value.slice(0, area.selectionStart).split('\n').length;
    });
    expect(cursorLine).toBe(at + 1);
    expect(await text(page, '#tabs button')).toBe('matmul.wgsl (edited)');
    expect(await page.$eval('#run', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
    // Reset: the library's source again, and a run of it.
    await page.click('#reset');
    expect(await page.$eval('#editor', (e) => (e as HTMLTextAreaElement).value)).toBe(library);
    expect(await page.$eval('#compile-error', (e) => (e as HTMLElement).hidden)).toBe(true);
    s = await runAndWait(page);
    expect(s.result?.source).toBe('library');
    expect(s.result?.passed).toBe(true);
    // After a run of an edit and a Reset, the highlighted view shows the library's code again.
    await typeSource(page, library.replace(line, `${line} // edited`));
    expect((await runAndWait(page)).result?.source).toBe('edited matmul');
    await page.click('#reset');
    await page.click('#edit'); // back to the highlighted view
    expect(await page.$eval('#source', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await highlighted(page)).toContain(line);
    expect(await highlighted(page)).not.toContain('// edited');
  });

  it('catches the "remove the staging barrier" preset with the race detector', async () => {
    const { page } = explorer;
    await choose(page, 'matmul.workgroupTile', { M: '64', K: '64', N: '64' });
    const s = await clickPreset(page, 'matmul-staging-barrier');
    expect(s.status, s.error ?? s.message).toBe('done');
    const r = s.result;
    expect(r?.source).toBe('preset: remove the staging barrier');
    expect(r?.raceCount).toBeGreaterThan(0);
    expect(r?.verdict).toMatch(/^FAIL: .*races/);
    expect(await text(page, '#race-verdict')).toMatch(/^FAIL: \d+ races/);
    expect(await text(page, '#races')).toMatch(/tile[AB] byte \d+: invocation \d+/);
    await page.click('#reset');
  });

  it('catches the off-by-one preset on the max error', async () => {
    const { page } = explorer;
    await choose(page, 'matmul.naive', { M: '37', K: '43', N: '29' });
    const s = await clickPreset(page, 'matmul-k-off-by-one');
    expect(s.status, s.error ?? s.message).toBe('done');
    const r = s.result;
    if (!r) throw new Error('no result');
    expect(r.passed).toBe(false);
    expect(r.verdict).toBe('FAIL: max error');
    const [c] = r.comparisons;
    expect(c?.maxError).toBeGreaterThan(c?.atol ?? Infinity);
    expect(await text(page, '#verdict')).toBe('FAIL');
    await page.click('#reset');
  });

  it('keeps every run in the runs table, with roofline shares, and the source unclipped', async () => {
    const { page } = explorer;
    const column = (selector: string) =>
      page.$eval(selector, (e) => {
        const r = e.getBoundingClientRect();
        return { width: r.width, right: r.right, viewport: window.innerWidth };
      });
    await choose(page, 'reduce.lossMean', { N: '1000' });
    const before = await column('main > .column:not(.wide)');
    const s = await runAndWait(page);
    expect(s.status, s.error ?? s.message).toBe('done');
    expect(s.result?.raceCount).toBe(0);
    expect(s.result?.races?.length).toBe(1);
    // A long result does not widen the kernel column, nor push the source past the window.
    expect((await column('main > .column:not(.wide)')).width).toBe(before.width);
    const source = await column('main > .column.wide');
    expect(source.right).toBeLessThanOrEqual(source.viewport);
    const kernels = s.history.map((r) => r.kernel);
    expect(kernels).toEqual(expect.arrayContaining(['matmul.naive', 'matmul.workgroupTile']));
    expect(kernels.at(-1)).toBe('reduce.lossMean');
    expect(await page.$$eval('#history tbody tr', (rows) => rows.length)).toBe(s.history.length);
    expect(await text(page, '#history tbody tr td')).toBe('reduce.lossMean'); // newest first
    expect(s.peaks?.gflops).toBeGreaterThan(0);
    expect(s.peaks?.gbps).toBeGreaterThan(0);
    const matmul = s.history.find((r) => r.shape === 'M=37 K=43 N=29' && r.passed);
    expect(matmul?.roofline?.flopsPerByte).toBeCloseTo(
      (2 * 37 * 43 * 29) / (4 * (37 * 43 + 43 * 29 + 37 * 29)),
      6,
    );
    expect(matmul?.roofline?.ofFmaPeak).toBeGreaterThan(0);
    expect(s.result?.roofline?.flopsPerByte).toBeUndefined(); // a GB/s kernel counts no flops
    expect(s.result?.roofline?.ofBandwidth).toBeGreaterThan(0);
    await page.screenshot({ path: '/tmp/explorer-runs.png', fullPage: true });
  });

  it('logs no errors', () => {
    expect(explorer.problems).toEqual([]);
  });
});

describe('kernel explorer without WebGPU', () => {
  it('shows the banner and still shows the sources', async () => {
    const { page, problems } = await openPage(
      browser,
      `${inject('baseUrl')}/demo/explorer/?kernel=conv2d.forward`,
      { withoutWebgpu: true },
    );
    const s = await waitUntil(page, readState, settled, 'the page to give up', 30_000);
    expect(s.status).toBe('no-webgpu');
    expect(await text(page, '#no-webgpu')).toContain('WebGPU is not available');
    expect(await page.$eval('#run', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
    // conv2d has no shader of its own: one tab per module it dispatches, im2col's first.
    const tabs = await page.$$eval('#tabs button', (b) => b.map((x) => x.textContent));
    expect(tabs).toEqual(['conv2dIm2col.wgsl', 'matmul.wgsl']);
    expect(await highlighted(page)).toContain('fn im2col(');
    expect(problems).toEqual([]);
    await page.close();
  });
});
