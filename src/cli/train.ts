/**
 * The CLI's training command. Besides training and writing the run folder, it keeps the run
 * alive and resumable:
 * - every `snapshotEvery` steps (and at each epoch's end) the trainer keeps a snapshot in memory;
 *   if the device is lost, the run goes on on a new device from it, up to MAX_RECOVERIES times,
 *   with one line each;
 * - checkpoint.safetensors (checkpoint.ts) is written atomically at each epoch's end and,
 *   with `--checkpoint-every N`, every N steps; `--resume DIR` continues from it with the same
 *   results as a run never stopped;
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
import { limitDataset, type Dataset } from '../data/datasets';
import type { CliCommand } from './args';
import { CHECKPOINT_FILE, snapshotBytes, trimMetrics } from './checkpoint';
import { loadSplit, mib, pct, readBytes } from './common';
import { onDisk, prepareOutDir, writeOut } from './files';
import { resolveTrainConfig } from './config';
import { printProfile } from './profile';
import { ProgressLine } from './progress';

type TrainCommand = Extract<CliCommand, { kind: 'train' }>;

/** Device losses a run recovers from before it gives up. */
export const MAX_RECOVERIES = 3;

export async function train(cmd: TrainCommand): Promise<void> {
  const { config, resume } = await resolveTrainConfig(cmd);
  const gpu = await initDevice({ log: (l) => console.log(l) });
  let trainer: Trainer | undefined;
  try {
    const split = await loadSplit(config.dataset, cmd.dataDir);
    const trainSet = config.limit
      ? limitDataset(split.train, Math.min(config.limit, split.train.count))
      : split.train;
    console.log(
      `data: ${split.train.name} ${trainSet.count} training / ${split.test.count} test images`,
    );
    console.log(describeModel(config.model));
    trainer = createTrainer(gpu, config);
    if (cmd.init) loadModel(trainer, await readBytes(cmd.init, '--init'), cmd.init);
    await prepareOutDir('--out', cmd.out);
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
    const run = new CliRun(trainer, config, cmd.out, { train: trainSet, test: split.test });
    await run.prepare(cmd.profile);
    await run.epochs(resume?.position.epoch ?? 1);
    const configPath = join(cmd.out, 'config.json');
    await onDisk('--out', configPath, () =>
      writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`),
    );
    console.log(
      `saved ${join(cmd.out, 'model.safetensors')}, optimizer.safetensors, checkpoint.safetensors, the first layer (safetensors + png) and metrics.jsonl`,
    );
  } finally {
    const current = trainer?.gpu;
    trainer?.destroy();
    current?.destroy();
    gpu.destroy();
  }
}

/** One training run of the CLI: its datasets on the current device, recovery and checkpoints. */
class CliRun {
  private trainGpu: GpuDataset;
  private testGpu: GpuDataset;
  private readonly recovery: DeviceRecovery;
  /** Checkpoint writes, one after the other (a newer one must never be overtaken). */
  private writes: Promise<void> = Promise.resolve();
  private drillAt = drillStep();

  constructor(
    private readonly trainer: Trainer,
    private readonly config: TrainConfig,
    private readonly out: string,
    private readonly sets: { train: Dataset; test: Dataset },
  ) {
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
    if (profile)
      printProfile(
        await profileCalls(this.trainer.gpu, plan.prepared),
        this.config.batchSize,
        (l) => console.log(l),
      );
  }

  async epochs(first: number): Promise<void> {
    const { config, trainer } = this;
    for (let epoch = first; epoch <= config.epochs; epoch++) {
      const bar = new ProgressLine(`epoch ${epoch}/${config.epochs}`, process.stdout);
      const onProgress = (p: EpochProgress): void => {
        bar.update(p);
        this.drill((epoch - 1) * p.steps + p.step);
      };
      const result = await this.recovery.run(() =>
        trainer.trainEpoch(this.trainGpu, epoch, onProgress),
      );
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
      await this.recovery.run(() => this.saveEpoch(epoch));
    }
  }

  /** At an epoch's end: checkpoint.safetensors, then the files a user opens (model, optimizer, ...). */
  private async saveEpoch(epoch: number): Promise<void> {
    const latest = this.trainer.snapshots.latest;
    const atEnd = latest?.position.epoch === epoch + 1 && latest.position.batch === 0;
    await this.writeCheckpoint(atEnd ? latest : await this.trainer.snapshot());
    await saveUserFiles(this.trainer, this.config, this.out, epoch);
  }

  private writeCheckpoint(s: Snapshot): Promise<void> {
    const path = join(this.out, CHECKPOINT_FILE);
    this.writes = this.writes.then(() => writeOut(path, snapshotBytes(s, this.config)));
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

/** model.safetensors, optimizer.safetensors and the first layer as safetensors and png. */
async function saveUserFiles(
  trainer: Trainer,
  config: TrainConfig,
  out: string,
  epoch: number,
): Promise<void> {
  const meta = { ...configMetadata(config), epoch: String(epoch) };
  await writeOut(join(out, 'model.safetensors'), await modelBytes(trainer, meta));
  await writeOut(join(out, 'optimizer.safetensors'), await optimizerBytes(trainer, meta));
  const first = [...trainer.store.params.keys()][0];
  if (!first) return;
  const layer = first.split('.')[0] ?? first;
  await writeOut(
    join(out, `${layer}.safetensors`),
    await modelBytes(trainer, meta, (n) => n.startsWith(`${layer}.`)),
  );
  const spec = trainer.store.get(first).spec;
  if (spec.shape.length === 4) {
    const grid = filterGrid(await trainer.store.read(first), spec.shape);
    await writeOut(join(out, `${layer}.png`), encodeGrayPng(grid.pixels, grid.width, grid.height));
  }
}
