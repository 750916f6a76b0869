/**
 * Soak benchmark (Node): many thousands of training steps of a small MLP on MNIST (optionally
 * also the reference CNN), sampling the live GPU buffers and bytes and the JS heap along the way
 * (see soakRun.ts for what "flat" means). Prints a table per model, then one JSON line (the last
 * line of stdout); exits 1 if a run is not flat.
 *
 *   npm run bench:soak [-- --steps 6000 --every 500 --cnn-steps 0 --heap-slack-mb 8]
 */
import { initDevice } from '../src/gpu/device';
import { limitDataset } from '../src/data/datasets';
import { loadMnist } from '../src/data/datasetsNode';
import { defaultTrainConfig } from '../src/models/config';
import { printTable, progress } from './report';
import { mlp, runSoak, type SoakResult, type SoakSample } from './soakRun';

const USAGE =
  'usage: npm run bench:soak -- [--steps N] [--every N] [--cnn-steps N] [--heap-slack-mb X]';
const DEFAULTS = { steps: 6000, every: 500, 'cnn-steps': 0, 'heap-slack-mb': 8 };
type Flags = typeof DEFAULTS;

/** A bad command line: printed without a stack trace. */
class UsageError extends Error {}

function parseFlags(argv: readonly string[]): Flags {
  const flags = { ...DEFAULTS };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i += 2) {
    const name = (args[i] ?? '').replace(/^--/, '');
    const value = Number(args[i + 1]);
    if (!Object.hasOwn(flags, name)) throw new UsageError(`${args[i]}: unknown flag\n${USAGE}`);
    if (!(value >= 0) || !Number.isFinite(value))
      throw new UsageError(`${args[i]} ${args[i + 1]}: expected a number >= 0\n${USAGE}`);
    flags[name as keyof Flags] = value;
  }
  if (flags.steps < 1 || flags.every < 1) throw new UsageError(`--steps and --every must be >= 1`);
  return flags;
}

const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;

function row(s: SoakSample) {
  return {
    step: s.step,
    buffers: s.liveBuffers,
    'buffer MiB': mib(s.liveBytes),
    'pending MiB': mib(s.pendingBytes),
    'heap MiB': mib(s.heapBytes),
    'rss MiB': mib(s.rssBytes),
    seconds: Math.round(s.seconds * 10) / 10,
  };
}

/** The result without its samples (they are in the table), plus the flat buffer figures. */
function summary(r: SoakResult) {
  const first = r.samples[0];
  return {
    steps: r.steps,
    stepsPerSecond: r.stepsPerSecond,
    samples: r.samples.length,
    buffers: first?.liveBuffers,
    bufferBytes: first?.liveBytes,
    buffersFlat: r.buffersFlat,
    heapGrowthBytes: r.heapGrowthBytes,
    heapFlat: r.heapFlat,
    flat: r.flat,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const gpu = await initDevice({ log: progress });
  const mnist = await loadMnist();
  const test = limitDataset(mnist.test, 500);
  const slack = flags['heap-slack-mb'] * 2 ** 20;
  const results: Record<string, SoakResult> = {};
  const runs = [
    { name: 'mlp', model: mlp(128), steps: flags.steps, batch: 32, train: 2048 },
    {
      name: 'cnn',
      model: defaultTrainConfig().model,
      steps: flags['cnn-steps'],
      batch: 64,
      train: 1024,
    },
  ].filter((r) => r.steps > 0);
  try {
    for (const r of runs) {
      progress(`${r.name}: ${r.steps} steps at batch ${r.batch}, sampling every ${flags.every}`);
      const every = Math.min(flags.every, r.steps);
      const sets = { train: limitDataset(mnist.train, r.train), test };
      const options = { ...r, every, snapshotEvery: 100, heapSlackBytes: slack };
      const result = await runSoak(gpu, sets, options, (s) =>
        progress(`  step ${s.step}: ${s.liveBuffers} buffers, heap ${mib(s.heapBytes)} MiB`),
      );
      printTable(
        `${r.name} (${Math.round(result.stepsPerSecond)} steps/s)`,
        result.samples.map(row),
      );
      results[r.name] = result;
    }
  } finally {
    gpu.destroy();
  }
  const flat = Object.values(results).every((r) => r.flat);
  const out = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, summary(r)]));
  console.log(JSON.stringify({ bench: 'soak', heapSlackBytes: slack, flat, ...out }));
  if (!flat) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(1);
});
