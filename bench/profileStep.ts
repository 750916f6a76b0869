/**
 * Where a training step's time goes: compiles the training plan of the model the flags describe
 * (the CLI's flags; default the reference CNN at batch 64) and times every dispatch on its own.
 *
 *   npx vite-node bench/profileStep.ts -- [--batch 64 --features 32,64 ... --tune off|cached|full]
 */
import { initDevice } from '../src/gpu/device';
import { profileCalls } from '../src/gpu/timing';
import { parseArgs } from '../src/cli/args';
import { createTrainer } from '../src/models/network';
import { printProfile } from '../src/cli/profile';
import { cliTune } from '../src/cli/tune';
import { tuningLines } from '../src/graph/tuneReport';

async function main(): Promise<void> {
  const cmd = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  if (cmd.kind !== 'train') throw new Error('usage: profileStep [training flags]');
  const gpu = await initDevice({ log: console.log });
  const trainer = createTrainer(gpu, cmd.config, { tune: cliTune(cmd.tune) });
  const plan = await trainer.plan('train', cmd.config.batchSize);
  if (plan.tuning) tuningLines(plan.tuning).forEach((line) => console.log(line));
  printProfile(await profileCalls(gpu, plan.prepared), cmd.config.batchSize, console.log);
  trainer.destroy();
  gpu.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
