/**
 * The packed package as users get it (globalSetup.ts installs the tarball into fresh projects):
 * plain Node, the command, TypeScript under bundler and nodenext resolution, esbuild and Vite
 * (build and dev server) with the app training in headless Chromium, bundle-size budgets, and
 * publint / arethetypeswrong on the package.
 *
 * Budgets (gzip, measured 2026-12-03 and kept with room): the Vite app that trains XOR, and an
 * app importing only parseIdx, which must shake out every kernel and shader.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, serveStatic } from '../../scripts/chrome';
import { openPage } from '../e2e/pages';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const bin = (name: string): string => join(repo, 'node_modules/.bin', name);
const { tarball, browser: browserApp, node: nodeApp } = inject('consumers');

/**
 * A training app loads every image-op kernel family the autodiff rule table reaches (the table is
 * one object, so a bundler keeps all of its ops): 91.7 kB gzip with the CNN's families, 104.4 kB
 * once the graph's batchNorm, add, concat and globalAvgPool and the optimizer's schedules and
 * clipping came (2026-12-03), 115.0 kB with the vec4 and pairs entry points of 2026-12-04, then
 * 92.2 kB once the package shipped its shaders without comments (scripts/buildPackage.ts). The
 * transformer ops load only for a graph that uses them, in their own chunk. The budget covers what the page loads; it leaves room for one or two more families,
 * not for a regression such as Node code or a data package pulled into the page.
 */
const TRAINING_APP_GZIP_BUDGET = 115_000;
const PARSE_IDX_GZIP_BUDGET = 4_000;

let chromium: Browser;
beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium.close();
});

/** Opens `url`, waits for the XOR app to finish, and returns its losses and the page's errors. */
async function trainInChromium(url: string): Promise<{ losses: number[]; problems: string[] }> {
  const { page, problems } = await openPage(chromium, url);
  const readStatus = () =>
    page.$eval('#status', (el) => ({
      text: el.textContent,
      losses: (el as HTMLElement).dataset.losses,
    }));
  const deadline = Date.now() + 90_000;
  let status = await readStatus();
  while (status.losses === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    status = await readStatus();
  }
  await page.close();
  if (status.losses === undefined) throw new Error(`the app did not finish: ${status.text ?? ''}`);
  return { losses: JSON.parse(status.losses) as number[], problems };
}

function expectTrained({ losses, problems }: { losses: number[]; problems: string[] }): void {
  expect(problems).toEqual([]);
  expect(losses).toHaveLength(3);
  expect(losses[2]).toBeLessThan(losses[0] ?? NaN);
}

/** esbuild's command: a browser ESM bundle, built in the browser project. */
const esbuild = (args: string[]) =>
  run(
    bin('esbuild'),
    ['--bundle', '--format=esm', '--platform=browser', '--log-level=error', ...args],
    {
      cwd: browserApp,
    },
  );

/** The JS a built page loads up front: its entry script and the chunks Vite preloads with it. */
function eagerScripts(dist: string): string[] {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  return [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? '');
}

const gzipBytes = (dir: string, files: string[]): number =>
  files.reduce((sum, f) => sum + gzipSync(readFileSync(join(dir, f))).length, 0);

describe('the packed package in fresh projects', () => {
  it('plain Node (ESM) imports it, trains on an MNIST slice, and the loss falls', async () => {
    const { stdout } = await run('node', ['node-esm/app.mjs'], { cwd: nodeApp });
    expect(stdout).toMatch(/training loss by epoch/);
  }, 180_000);

  it('the shadergrad command prints its help', async () => {
    const { stdout } = await run(join(nodeApp, 'node_modules/.bin/shadergrad'), ['--help']);
    expect(stdout).toMatch(/^Usage: shadergrad/m);
  });

  it('shadergrad gpt trains on the text the package ships, and sample continues a prompt', async () => {
    const shadergrad = join(nodeApp, 'node_modules/.bin/shadergrad');
    const out = join(nodeApp, 'gpt-run');
    const small = ['--steps', '4', '--eval-every', '2', '--batch', '2', '--context', '8'];
    const trained = await run(shadergrad, [
      'gpt',
      ...small,
      '--width',
      '8',
      '--layers',
      '1',
      '--out',
      out,
    ]);
    expect(trained.stdout).toMatch(/^text: .*texts\/genesis\.txt, 196867 characters/m);
    expect(trained.stdout).toMatch(/^step 4\/4: train loss \d+\.\d+, validation loss/m);
    const sampled = await run(shadergrad, [
      'sample',
      '--run',
      out,
      '--prompt',
      'The',
      '--tokens',
      '5',
    ]);
    // the prompt, then 5 drawn characters (any of the text's, newlines included)
    expect(sampled.stdout).toContain('The');
  }, 180_000);

  it('a student starts an exercise and grades it with the installed command', async () => {
    const shadergrad = join(nodeApp, 'node_modules/.bin/shadergrad');
    const work = join(nodeApp, 'course-work');
    mkdirSync(work, { recursive: true });
    const started = await run(shadergrad, ['exercise', 'relu'], { cwd: work });
    expect(started.stdout).toContain('Grade it with: npx shadergrad check relu');
    // The package ships starters and questions, not the reference solutions.
    expect(readdirSync(join(nodeApp, 'node_modules/shadergrad/course/01-relu')).sort()).toEqual([
      'README.md',
      'starter.wgsl',
    ]);
    const solved = readFileSync(join(work, 'relu.wgsl'), 'utf8').replace(
      '// TODO: write y[i] (and only for the i that exist).',
      'if (i < params.count) { y[i] = max(x[i], 0.0); }',
    );
    writeFileSync(join(work, 'relu.wgsl'), solved);
    const graded = await run(shadergrad, ['check', 'relu', '--no-speed'], { cwd: work });
    expect(graded.stdout).toMatch(/^PASS: relu\.wgsl does what exercise relu asks\.$/m);
  }, 120_000);

  it.each(['bundler', 'nodenext'])(
    'type-checks under moduleResolution %s, strict, with skipLibCheck false',
    async (resolution) => {
      const config = join(browserApp, 'typescript', `tsconfig.${resolution}.json`);
      const result = await run(bin('tsc'), ['-p', config]).catch(
        (e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }),
      );
      expect(result.stdout).toBe('');
    },
    120_000,
  );

  it('an app importing only parseIdx carries no kernel and no shader', async () => {
    const { stdout: code } = await esbuild(['parse-idx/entry.js', '--minify']);
    expect(code).not.toMatch(/@compute|createComputePipeline/);
    const gzip = gzipSync(code).length;
    console.log(`parseIdx alone: ${code.length} bytes, ${gzip} gzip`);
    expect(gzip).toBeLessThan(PARSE_IDX_GZIP_BUDGET);
  });

  it('esbuild bundles the app for a static page: no Node code, and it trains in Chromium', async () => {
    const dir = join(browserApp, 'esbuild-out');
    mkdirSync(dir, { recursive: true });
    await esbuild(['vite-app/main.ts', `--outfile=${join(dir, 'app.js')}`]);
    const code = readFileSync(join(dir, 'app.js'), 'utf8');
    expect(code).not.toMatch(/["']node:|["']webgpu["']|process\.env/);
    const html = readFileSync(join(browserApp, 'vite-app/index.html'), 'utf8');
    writeFileSync(join(dir, 'index.html'), html.replace('./main.ts', './app.js'));
    const server = await serveStatic(dir);
    try {
      expectTrained(await trainInChromium(`${server.url}/`));
    } finally {
      await server.close();
    }
  }, 180_000);

  it('vite build: the app trains in Chromium, its JS within the budget', async () => {
    const app = join(browserApp, 'vite-app');
    await run(
      'node',
      [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'],
      {
        cwd: app,
      },
    );
    const dist = join(app, 'dist');
    const eager = eagerScripts(dist);
    const lazy = readdirSync(join(dist, 'assets'))
      .map((f) => `assets/${f}`)
      .filter((f) => f.endsWith('.js') && !eager.includes(f));
    const gzip = gzipBytes(dist, eager);
    console.log(
      `Vite training app: ${eager.length} JS file(s) loaded, ${gzip} bytes gzip; ${lazy.length} left for graphs that need them`,
    );
    expect(gzip).toBeLessThan(TRAINING_APP_GZIP_BUDGET);
    // The transformer ops' rules and shaders are split off: an MLP page never downloads them.
    const loaded = eager.map((f) => readFileSync(join(dist, f), 'utf8')).join('');
    expect(loaded).not.toContain('layerNormForward');
    expect(lazy.some((f) => readFileSync(join(dist, f), 'utf8').includes('layerNormForward'))).toBe(
      true,
    );
    // So is the autotuner (its cache format names it): a page that does not tune never loads it.
    expect(loaded).not.toContain('shadergrad-tune');
    expect(lazy.some((f) => readFileSync(join(dist, f), 'utf8').includes('shadergrad-tune'))).toBe(
      true,
    );
    const server = await serveStatic(join(app, 'dist'));
    try {
      expectTrained(await trainInChromium(`${server.url}/`));
    } finally {
      await server.close();
    }
  }, 180_000);

  it('vite dev server: the app trains in Chromium with no configuration', async () => {
    const server = await startViteDev(join(browserApp, 'vite-app'));
    try {
      expectTrained(await trainInChromium(server.url));
    } finally {
      server.child.kill();
    }
  }, 180_000);

  it('publint and arethetypeswrong find no problems', async () => {
    const lint = await run(bin('publint'), ['run', '--strict', tarball]);
    expect(lint.stdout).toMatch(/All good/);
    // ESM only: CommonJS callers use require(esm), which Node 20.19+ (our engines) supports.
    await expect(run(bin('attw'), [tarball, '--profile', 'esm-only'])).resolves.toBeDefined();
  }, 120_000);
});

/** `vite` in `dir` on a free port; resolves once it prints its local URL. */
function startViteDev(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const vite = join(repo, 'node_modules/vite/bin/vite.js');
  const child = spawn('node', [vite, '--port', '0', '--host', 'localhost'], { cwd: dir });
  return new Promise((done, fail) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /Local:\s+(http:\/\/localhost:\d+\/)/.exec(stripVTControlCharacters(output));
      if (url?.[1]) done({ url: url[1], child });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => fail(new Error(`vite exited with ${code}: ${output}`)));
  });
}
