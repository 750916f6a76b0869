/**
 * The CLI's training command. Besides training and writing the run folder, it keeps the run
 * alive and resumable:
 * - every `snapshotEvery` steps (and at each epoch's end) the trainer keeps a snapshot in memory;
 *   if the device is lost, the run goes on on a new device from it, up to MAX_RECOVERIES times,
 *   with one line each;
 * - checkpoint.safetensors (checkpoint.ts) is written atomically at each epoch's end and,
 *   with `--checkpoint-every N`, every N steps; `--resume DIR` continues from it with the same
 *   results as a run never stopped;
 * - Ctrl-C saves the exact position into the checkpoint and prints the --resume command
 *   (interrupt.ts); a folder that already holds a run is refused unless told (runFolder.ts);
 * - SHADERGRAD_DRILL_DEVICE_LOSS=STEP destroys the device once after global step STEP, to
 *   rehearse the recovery.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeviceRecovery,
  ShadergradError,
  initDevice,
  profileCalls,
  tuningLines,
  type EpochProgress,
  type GpuDataset,
  type Recovered,
  type Snapshot,
  type Trainer,
} from '../core';
import { describeModel, type TrainConfig } from '../models/config';
import { datasetToGpu } from '../models/fit';
import { createTrainer } from '../models/network';
import { configMetadata, loadModel, modelBytes, optimizerBytes } from '../models/stateDict';
import { encodeGrayPng, filterGrid } from '../formats/png';
import { FASHION_SPLIT, limitDataset, type Dataset } from '../data/datasets';
import type { CliCommand } from './args';
import { CHECKPOINT_FILE, dataMetadata, snapshotBytes, trimMetrics } from './checkpoint';
import { loadSplit, mib, pct, readBytes } from './common';
import { onDisk, prepareOutDir, writeOut } from './files';
import { resolveTrainConfig, withRunLength } from './config';
import { SIGINT_EXIT_CODE, SigintStop, unlessInterrupted } from './interrupt';
import { printProfile } from './profile';
import { trainTune } from './tune';
import { ProgressLine } from './progress';
import { clearRun, runFilesToReplace, shellWord } from './runFolder';

type TrainCommand = Extract<CliCommand, { kind: 'train' }>;

/** Device losses a run recovers from before it gives up. */
export const MAX_RECOVERIES = 3;

/** Runs the train command; resolves to the exit status (SIGINT_EXIT_CODE after Ctrl-C). */
export async function train(cmd: TrainCommand): Promise<number> {
  const resolved = await resolveTrainConfig(cmd);
  const { resume, dataDir } = resolved;
  const replaced = runFilesToReplace(cmd);
  const gpu = await initDevice({ log: (l) => console.log(l) });
  let trainer: Trainer | undefined;
  let stop: SigintStop | undefined;
  try {
    const split = await loadSplit(resolved.config.dataset, dataDir, cmd.testLimit);
    const trainSet = limitedTrainSet(split.train, resolved.config);
    // a cosine schedule over "the whole run" needs the training set's size
    const config = withRunLength(resolved.config, trainSet.count);
    const testNote = cmd.testLimit === undefined ? '' : ' (--test-limit)';
    console.log(
      `data: ${split.train.name} ${trainSet.count} training / ${split.test.count} test images${testNote}`,
    );
    if (resolved.config.dataset === 'fashion' && !dataDir) console.log(`data: ${FASHION_SPLIT}`);
    console.log(describeModel(config.model));
    // A resumed run takes the kernels of the run it continues, whatever the cache holds now.
    trainer = createTrainer(gpu, config, { tune: trainTune(cmd.tune, resume?.tuning) });
    stop = new SigintStop(trainer);
    if (cmd.init) loadModel(trainer, await readBytes(cmd.init, '--init'), cmd.init);
    await prepareOutDir('--out', cmd.out);
    await clearRun(replaced);
    if (resume) {
      resume.restore(trainer);
      const { epoch, batch } = resume.position;
      console.log(
        batch === 0
          ? `resuming after epoch ${epoch - 1}`
          : `resuming in epoch ${epoch} after batch ${batch}`,
      );
      await trimMetrics(join(cmd.out, 'metrics.jsonl'), epoch - 1);
    }
    const sets = { train: trainSet, test: split.test };
    const run = new CliRun(trainer, config, { out: cmd.out, dataDir, stop }, sets);
    await run.prepare(cmd.profile);
    if (!(await run.epochs(resume?.position.epoch ?? 1))) return SIGINT_EXIT_CODE;
    const configPath = join(cmd.out, 'config.json');
    await onDisk('--out', configPath, () =>
      writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`),
    );
    // Only what this run wrote: a resume with no epoch left to train writes config.json alone.
    console.log(`saved in ${cmd.out}: ${[...run.saved, 'config.json'].join(', ')}`);
    return 0;
  } finally {
    stop?.dispose();
    const current = trainer?.gpu;
    trainer?.destroy();
    current?.destroy();
    gpu.destroy();
  }
}

/** The training set the run uses (config.limit); a batch must fit in it. */
function limitedTrainSet(train: Dataset, config: TrainConfig): Dataset {
  const set = config.limit ? limitDataset(train, Math.min(config.limit, train.count)) : train;
  if (config.batchSize > set.count)
    throw new ShadergradError(
      `--batch ${config.batchSize}: larger than the ${set.count} training samples${config.limit ? ` (--limit ${config.limit})` : ''}; use --batch ${set.count} or less`,
    );
  return set;
}

/** One training run of the CLI: its datasets on the current device, recovery and checkpoints. */
class CliRun {
  private trainGpu: GpuDataset;
  private testGpu: GpuDataset;
  private readonly recovery: DeviceRecovery;
  /** Checkpoint writes, one after the other (a newer one must never be overtaken). */
  private writes: Promise<void> = Promise.resolve();
  private drillAt = drillStep();
  private readonly out: string;
  /** The files this run has written so far, for the last line. */
  readonly saved = new Set<string>();

  constructor(
    private readonly trainer: Trainer,
    private readonly config: TrainConfig,
    private readonly place: { out: string; dataDir: string | undefined; stop: SigintStop },
    private readonly sets: { train: Dataset; test: Dataset },
  ) {
    this.out = place.out;
    this.trainGpu = datasetToGpu(trainer.gpu, sets.train);
    this.testGpu = datasetToGpu(trainer.gpu, sets.test);
    this.recovery = new DeviceRecovery(trainer, {
      maxRecoveries: MAX_RECOVERIES,
      onRecovered: (r) => this.recovered(r),
    });
    const { snapshotEvery: n, checkpointEvery: k = 0 } = config;
    if (k > 0) {
      trainer.snapshots.schedule((s) => (n > 0 && s % n === 0) || s % k === 0);
      trainer.snapshots.onSnapshot = (s) =>
        s.step % k === 0 && s.position.batch > 0 ? this.writeCheckpoint(s) : undefined;
    }
  }

  /**
   * Compiles the training and evaluation steps (trainer.prepare: data shapes, device limits),
   * prints the training step's memory and, with --profile, its kernels.
   */
  async prepare(profile: boolean): Promise<void> {
    const plan = await this.trainer.prepare(this.trainGpu, this.testGpu);
    const m = plan.memory;
    const budget = this.trainer.gpu.memory.budgetBytes;
    console.log(
      `GPU memory: parameters ${mib(m.parameters)}, gradients ${mib(m.gradients)}, optimizer ${mib(m.optimizerState)}, activations+scratch ${mib(m.planned)} (unplanned ${mib(m.unplanned)}), total ${mib(m.total)}` +
        (budget === undefined ? '' : `; budget for buffers under ulimit -v: ${mib(budget)}`),
    );
    for (const note of plan.notes) console.log(`plan: ${note}`);
    if (plan.tuning) for (const line of tuningLines(plan.tuning)) console.log(line);
    if (profile)
      printProfile(
        await profileCalls(this.trainer.gpu, plan.prepared),
        this.config.batchSize,
        (l) => console.log(l),
      );
  }

  /** Trains the epochs from `first` on; false when Ctrl-C stopped the run (position saved). */
  async epochs(first: number): Promise<boolean> {
    const { config, trainer } = this;
    for (let epoch = first; epoch <= config.epochs; epoch++) {
      if (this.place.stop.requested) return this.interrupted();
      const bar = new ProgressLine(`epoch ${epoch}/${config.epochs}`, process.stdout);
      const onProgress = (p: EpochProgress): void => {
        bar.update(p);
        this.drill((epoch - 1) * p.steps + p.step);
      };
      const result = await unlessInterrupted(
        this.recovery.run(() => trainer.trainEpoch(this.trainGpu, epoch, onProgress)),
      );
      if (!result) return this.interrupted();
      const test = await this.recovery.run(() => trainer.evaluate(this.testGpu));
      bar.done(
        `epoch ${epoch}: train loss ${result.loss.toFixed(4)}, train accuracy ${pct(result.accuracy)}, test accuracy ${pct(test.accuracy)}, ${Math.round(result.samples / result.seconds)} samples/s, ${result.seconds.toFixed(1)} s`,
      );
      const line = {
        epoch,
        trainLoss: result.loss,
        trainAccuracy: result.accuracy,
        testLoss: test.loss,
        testAccuracy: test.accuracy,
        samplesPerS: result.samples / result.seconds,
        seconds: result.seconds,
      };
      // The metrics line first: a kill before the checkpoint makes --resume redo (and trim) it.
      const metrics = join(this.out, 'metrics.jsonl');
      await onDisk('--out', metrics, () => appendFile(metrics, `${JSON.stringify(line)}\n`));
      this.saved.add('metrics.jsonl');
      await this.recovery.run(() => this.saveEpoch(epoch));
    }
    return true;
  }

  /** After Ctrl-C: the latest snapshot (taken right after the step in progress) as checkpoint. */
  private async interrupted(): Promise<false> {
    await this.trainer.snapshots.settle();
    const s = this.trainer.snapshots.latest;
    if (!s) {
      console.log('interrupted before the first step: nothing to save');
      return false;
    }
    await this.writeCheckpoint(s);
    const { epoch, batch } = s.position;
    const at = batch === 0 ? `after epoch ${epoch - 1}` : `in epoch ${epoch} after batch ${batch}`;
    console.log(
      `interrupted ${at}: saved ${join(this.out, CHECKPOINT_FILE)}; continue with: npm start -- --resume ${shellWord(this.out)}`,
    );
    return false;
  }

  /** At an epoch's end: checkpoint.safetensors, then the files a user opens (model, optimizer, ...). */
  private async saveEpoch(epoch: number): Promise<void> {
    const latest = this.trainer.snapshots.latest;
    const atEnd = latest?.position.epoch === epoch + 1 && latest.position.batch === 0;
    await this.writeCheckpoint(atEnd ? latest : await this.trainer.snapshot());
    const meta = { ...configMetadata(this.config), ...dataMetadata(this.place.dataDir) };
    const files = await saveUserFiles(this.trainer, meta, this.out, epoch);
    files.forEach((f) => this.saved.add(f));
  }

  private writeCheckpoint(s: Snapshot): Promise<void> {
    const path = join(this.out, CHECKPOINT_FILE);
    const tuning = this.trainer.tunedChoices();
    const bytes = snapshotBytes(s, this.config, this.place.dataDir, tuning);
    this.writes = this.writes.then(() => writeOut(path, bytes));
    this.saved.add(CHECKPOINT_FILE);
    return this.writes;
  }

  private recovered(r: Recovered): void {
    this.trainGpu = datasetToGpu(r.gpu, this.sets.train);
    this.testGpu = datasetToGpu(r.gpu, this.sets.test);
    const { epoch, batch } = r.position;
    console.log(
      `${r.error.message}; resumed on a new device from the snapshot at epoch ${epoch}, batch ${batch} (recovery ${r.recoveries} of ${MAX_RECOVERIES})`,
    );
  }

  private drill(step: number): void {
    if (this.drillAt === undefined || step < this.drillAt) return;
    this.drillAt = undefined;
    this.trainer.gpu.destroy();
  }
}

function drillStep(): number | undefined {
  const v = process.env.SHADERGRAD_DRILL_DEVICE_LOSS;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v))
    throw new ShadergradError(`SHADERGRAD_DRILL_DEVICE_LOSS=${v}: expected a step number`);
  return Number(v);
}

/** model.safetensors, optimizer.safetensors and the first layer; resolves to the files' names. */
async function saveUserFiles(
  trainer: Trainer,
  runMeta: Record<string, string>,
  out: string,
  epoch: number,
): Promise<string[]> {
  const meta = { ...runMeta, epoch: String(epoch) };
  const saved = ['model.safetensors', 'optimizer.safetensors'];
  await writeOut(join(out, 'model.safetensors'), await modelBytes(trainer, meta));
  await writeOut(join(out, 'optimizer.safetensors'), await optimizerBytes(trainer, meta));
  const first = [...trainer.store.params.keys()][0];
  if (!first) return saved;
  const layer = first.split('.')[0] ?? first;
  await writeOut(
    join(out, `${layer}.safetensors`),
    await modelBytes(trainer, meta, (n) => n.startsWith(`${layer}.`)),
  );
  saved.push(`${layer}.safetensors`);
  const spec = trainer.store.get(first).spec;
  if (spec.shape.length === 4) {
    const grid = filterGrid(await trainer.store.read(first), spec.shape);
    await writeOut(join(out, `${layer}.png`), encodeGrayPng(grid.pixels, grid.width, grid.height));
    saved.push(`${layer}.png`);
  }
  return saved;
}
