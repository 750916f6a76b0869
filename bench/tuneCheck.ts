/**
 * Is the autotuner's choice as fast as the best fixed variant, product by product? Compiles the
 * training plan the flags describe (the CLI's; default the reference CNN at batch 64) once tuned
 * from scratch (`full`, choices kept in memory only) and once per fixed variant (tuning off),
 * then times every dispatch of each plan (median of 7, the plans in turn, twice: the lower median
 * counts) and prints, per product, the tuned choice against each variant and the best of them;
 * then each plan's whole step (every dispatch summed) with the paths each convolution takes
 * (forward and weight gradient, input gradient), which the products alone do not show. The tuning
 * time is the first line.
 *
 *   npm run bench:tune -- [--batch 64 --features 32,64 ...]
 *   SHADERGRAD_ADAPTER=swiftshader npm run bench:tune -- --batch 16
 */
import { initDevice, type Gpu } from '../src/gpu/device';
import { profileCalls } from '../src/gpu/timing';
import { parseArgs } from '../src/cli/args';
import { createTrainer } from '../src/models/network';
import { tuningLines, type TuneOptions } from '../src/graph/tuneReport';
import type { StepPlan } from '../src/graph/executor';
import type { MatmulVariant } from '../src/kernels/index';
import type { TrainConfig } from '../src/models/config';
import { printTable, type Row } from './report';

const SAMPLES = 7;

/** In memory: this check never reads or writes the user's cached choices. */
const fromScratch: TuneOptions = {
  mode: 'full',
  store: {
    read: () => Promise.resolve(undefined),
    write: () => Promise.resolve(),
    where: () => 'memory',
  },
  log: (line) => console.error(line),
};

async function compiled(gpu: Gpu, config: TrainConfig, how: MatmulVariant | TuneOptions) {
  const trainer = createTrainer(
    gpu,
    config,
    typeof how === 'string' ? { matmulVariant: how } : { tune: how },
  );
  return { trainer, plan: await trainer.plan('train', config.batchSize) };
}

/** A product's identity across plans: its label's parenthesized shape ("A·Bᵀ, M=64 K=196 ..."). */
function productOf(label: string): string | undefined {
  if (!label.startsWith('matmul')) return undefined;
  return /\((.*)\)$/.exec(label)?.[1];
}

/** Every dispatch of the plan timed alone: the products by shape, and the step's sum. */
async function planTimes(gpu: Gpu, plan: StepPlan): Promise<Map<string, number>> {
  const rows = await profileCalls(gpu, plan.prepared, SAMPLES);
  const out = new Map<string, number>([[STEP, rows.reduce((sum, r) => sum + r.medianMs, 0)]]);
  // A product that occurs twice (chunks) is counted with all its dispatches.
  for (const r of rows) {
    const key = productOf(r.label);
    if (key !== undefined) out.set(key, (out.get(key) ?? 0) + r.medianMs);
  }
  return out;
}

/** The key of the whole step's time in planTimes' map (no product label looks like it). */
const STEP = 'the whole step';

/** "conv2: forward implicit, dX implicit (subgroupTile)" per convolution, from the plan's notes. */
function convPaths(plan: StepPlan): string {
  const byConv = new Map<string, string[]>();
  for (const note of plan.notes) {
    const words = pathWords(note);
    const conv = note.slice(0, note.indexOf(':'));
    if (words) byConv.set(conv, [...(byConv.get(conv) ?? []), words]);
  }
  return [...byConv].map(([conv, words]) => `${conv}: ${words.join(', ')}`).join('; ') || 'none';
}

/** A path note in a word or two, or undefined for another note. */
function pathWords(note: string): string | undefined {
  if (note.includes(': forward and weight gradient by the implicit')) return 'forward implicit';
  if (note.includes(': forward and weight gradient by im2col')) return 'forward im2col';
  if (!note.includes(': input gradient by ')) return undefined;
  const kernel = /implicit product \((\w+)\)/.exec(note)?.[1];
  return `dX ${kernel ? `implicit (${kernel})` : 'matmul + col2im'}`;
}

async function main(): Promise<void> {
  const cmd = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  if (cmd.kind !== 'train') throw new Error('usage: tuneCheck [training flags]');
  const gpu = await initDevice({ log: console.log });
  const variants: MatmulVariant[] = ['registerTile', 'workgroupTile'];
  if (gpu.hasSubgroups) variants.push('subgroupTile');
  const tuned = await compiled(gpu, cmd.config, fromScratch);
  const report = tuned.plan.tuning;
  if (report) tuningLines(report).forEach((line) => console.log(line));
  const fixed = [];
  for (const v of variants) fixed.push({ variant: v, ...(await compiled(gpu, cmd.config, v)) });
  // Two rounds over the plans, each product's lower median kept: drift over the run (another
  // process, the CPU's clock) hits every plan alike.
  const plans = [tuned.plan, ...fixed.map((f) => f.plan)];
  const times = plans.map(() => new Map<string, number>());
  for (let round = 0; round < 2; round++)
    for (const [i, plan] of plans.entries())
      for (const [key, ms] of await planTimes(gpu, plan))
        times[i]?.set(key, Math.min(ms, times[i]?.get(key) ?? Infinity));
  const [tunedMs = new Map<string, number>(), ...fixedMs] = times;
  const choiceOf = new Map(
    (report?.products ?? []).map((p) => [productOf(p.label) ?? '', p.choice] as const),
  );
  const rows: Row[] = [];
  const totals = { tuned: 0, best: 0 };
  for (const [product, ms] of tunedMs) {
    if (product === STEP) continue;
    const each = fixedMs.map((m) => m.get(product) ?? NaN);
    const best = Math.min(...each.filter(Number.isFinite));
    totals.tuned += ms;
    totals.best += best;
    rows.push({
      product,
      tuned: choiceOf.get(product) ?? '?',
      'tuned ms': ms.toFixed(2),
      ...Object.fromEntries(variants.map((v, i) => [`${v} ms`, (each[i] ?? NaN).toFixed(2)])),
      'best fixed / tuned': (best / ms).toFixed(2),
    });
  }
  rows.push({
    product: 'all products',
    tuned: '',
    'tuned ms': totals.tuned.toFixed(2),
    'best fixed / tuned': (totals.best / totals.tuned).toFixed(2),
  });
  printTable(`per product, ${cmd.config.batchSize} samples, ${gpu.adapter.kind}`, rows);
  const tunedStep = tunedMs.get(STEP) ?? NaN;
  printTable(
    'the whole step: every dispatch timed alone, summed',
    plans.map((plan, i) => {
      const stepMs = times[i]?.get(STEP) ?? NaN;
      return {
        plan: i === 0 ? 'tuned' : (variants[i - 1] ?? '?'),
        'convolution paths': convPaths(plan),
        'step ms': stepMs.toFixed(2),
        'this / tuned': (stepMs / tunedStep).toFixed(2),
      };
    }),
  );
  for (const p of [tuned, ...fixed]) p.trainer.destroy();
  gpu.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
