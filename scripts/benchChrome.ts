/**
 * `npm run bench:chrome`: builds the pages, serves them from localhost, runs bench/index.html in
 * headless Chromium (/usr/bin/chromium, WebGPU on SwiftShader unless the machine has a GPU
 * Chromium uses) and writes the page's JSON report to bench/results/chrome.json.
 *
 *   npm run bench:chrome [-- --quick --sizes 64,128 --reps 3 --warmup 1 --batch 8 --only matmul,conv
 *                            --tfjs 0 --out FILE --timeout-minutes 60]
 *
 * Every flag but --out and --timeout-minutes becomes the page's URL parameter of the same name.
 * Progress lines are the page's status line; the exit code is 1 if a suite failed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BenchPageState } from '../bench/page/main';
import { ROOT, buildPages, launchChromium, serveStatic } from './chrome';

const PAGE_FLAGS = ['sizes', 'reps', 'warmup', 'batch', 'only', 'tfjs'];

function parse(argv: string[]) {
  const params = new URLSearchParams();
  let out = join(ROOT, 'bench/results/chrome.json');
  let timeoutMinutes = 60;
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] ?? '').replace(/^--/, '');
    if (flag === 'quick') {
      params.set('quick', '1');
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${flag} needs a value`);
    if (PAGE_FLAGS.includes(flag)) params.set(flag, value);
    else if (flag === 'out') out = resolve(value);
    else if (flag === 'timeout-minutes') timeoutMinutes = Number(value);
    else
      throw new Error(
        `unknown flag --${flag} (expected --quick, --${PAGE_FLAGS.join(', --')}, --out)`,
      );
  }
  return { params, out, timeoutMinutes };
}

async function main(): Promise<void> {
  const { params, out, timeoutMinutes } = parse(process.argv.slice(2).filter((a) => a !== '--'));
  const dist = join(ROOT, 'dist');
  console.error('building the pages...');
  await buildPages(dist);
  const server = await serveStatic(dist);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) =>
      console.error(`page error: ${e instanceof Error ? e.message : String(e)}`),
    );
    const url = `${server.url}/bench/?${params.toString()}`;
    console.error(`running ${url}`);
    await page.goto(url);
    let last = '';
    const deadline = Date.now() + timeoutMinutes * 60_000;
    let state: BenchPageState | undefined;
    while (Date.now() < deadline) {
      state = await page.evaluate(
        () => (window as unknown as { shadergradBench: BenchPageState }).shadergradBench,
      );
      const status = await page.$eval('#status', (e) => e.textContent ?? '');
      if (status !== last) console.error(status);
      last = status;
      if (state.status !== 'starting' && state.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (!state?.report || state.status === 'running' || state.status === 'starting')
      throw new Error(state?.error ?? `the bench page did not finish in ${timeoutMinutes} minutes`);
    await mkdir(dirname(out), { recursive: true });
    // bench/results/ holds machine output only: it ignores itself.
    const ignore = join(dirname(out), '.gitignore');
    if (out.startsWith(join(ROOT, 'bench/results')) && !existsSync(ignore))
      await writeFile(ignore, '*\n');
    await writeFile(out, `${JSON.stringify(state.report, null, 2)}\n`);
    for (const r of state.report.rows)
      console.log(
        `${r.suite.padEnd(8)} ${r.kernel.padEnd(48)} ${r.shape.padEnd(44)} ${r.medianMs.toFixed(3).padStart(10)} ms ${r.value.toFixed(2).padStart(10)} ${r.unit}`,
      );
    // The tuned step's rows share one report: print it once.
    const tuning = new Set(state.report.rows.flatMap((r) => r.tuning ?? []));
    for (const line of tuning) console.log(line);
    for (const e of state.report.errors) console.error(`FAILED ${e.suite}: ${e.message}`);
    console.error(`wrote ${out}`);
    if (state.status !== 'done') process.exitCode = 1;
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
