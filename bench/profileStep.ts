/**
 * Where a training step's time goes: compiles the reference CNN's training plan (or the config
 * given with --features/--dense/--batch, as in the CLI) and times every dispatch of the step on
 * its own (median of 3 after a warm-up), sorted by time.
 *
 *   npx vite-node bench/profileStep.ts -- [--batch 64]
 */
import { initDevice } from '../src/engine/device';
import { timeCalls } from '../src/engine/timing';
import { parseArgs } from '../src/cli/args';
import { createTrainer } from '../src/models/network';
import { printTable } from './report';

async function main(): Promise<void> {
  const cmd = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  if (cmd.kind !== 'train') throw new Error('usage: profileStep [training flags]');
  const gpu = await initDevice({ log: console.log });
  const trainer = createTrainer(gpu, cmd.config);
  const plan = await trainer.plan('train', cmd.config.batchSize);
  const rows: { kernel: string; ms: number }[] = [];
  for (const p of plan.prepared) {
    const t = await timeCalls(gpu, [p.call], { warmup: 1, samples: 3 });
    rows.push({ kernel: p.call.label, ms: t.medianMs });
  }
  const total = rows.reduce((a, r) => a + r.ms, 0);
  rows.sort((a, b) => b.ms - a.ms);
  printTable(
    `step of batch ${cmd.config.batchSize}: ${rows.length} dispatches, ${total.toFixed(1)} ms summed`,
    rows.map((r) => ({ ...r, share: `${((100 * r.ms) / total).toFixed(1)}%` })),
  );
  trainer.destroy();
  gpu.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
