/**
 * Trainer: runs compiled plans against data (the epoch loop itself is in epoch.ts), keeps
 * in-memory snapshots of the run (snapshot.ts) and resumes from the latest one on a new device
 * after a device loss: `resume(gpu)` rebuilds parameters, pipelines and plans there and restores
 * weights, optimizer state, step counter, the epoch's metrics and the data position.
 */
import type { Gpu } from '../gpu/device';
import { createTensor, readFloat32, writeTensor } from '../gpu/buffers';
import { DeviceLostError, ShadergradError } from '../base/errors';
import type { Graph } from '../graph/graph';
import { compilePlan, type Precision, type StepPlan } from '../graph/executor';
import { ParameterStore } from '../graph/parameterStore';
import { Snapshots, restoreStore, type Snapshot, type TrainPosition } from './snapshot';
import type { GpuTensor } from '../gpu/tensor';
import { diagnoseDivergence, type DivergedEpoch } from './divergence';
import {
  DivergenceError,
  checkFinite,
  permutationSeed,
  runSteps,
  seededPermutation,
  type EpochProgress,
  type GpuDataset,
} from './epoch';
import type { MatmulVariant, OptimizerConfig } from '../kernels/index';
import { choiceOnly, type TuneOptions, type TunedProduct } from '../graph/tuneReport';
import {
  checkDatasetLabels,
  compileRetrying,
  evaluateOn,
  predictOn,
  stepPlanOptions,
  writeInputs,
} from './forward';

export {
  DivergenceError,
  permutationSeed,
  rewriteGather,
  seededPermutation,
  uploadDataset,
  type EpochProgress,
  type GpuDataset,
} from './epoch';

/** Samples per evaluation step: evaluate()'s default, and the plan prepare() compiles for it. */
export const EVAL_BATCH = 100;

export interface TrainerOptions {
  batchSize: number;
  optimizer: OptimizerConfig;
  seed: number;
  matmulVariant?: MatmulVariant;
  /**
   * Time each product's kernels on this device when a plan is compiled and run the fastest
   * (src/graph/tuner.ts). Default off: the adapter's measured default variant.
   */
  tune?: TuneOptions;
  keepIntermediates?: boolean;
  /** Storage precision of the plans (PlanOptions.precision); default 'f32'. */
  precision?: Precision;
  /** Snapshot weights + optimizer state to CPU memory every N training steps; 0 (default) = off. */
  snapshotEvery?: number;
}

export interface EpochResult {
  /** Over the whole epoch, also after a resume mid-epoch. */
  loss: number;
  accuracy: number;
  /** Samples trained by this call, in `seconds`. */
  samples: number;
  seconds: number;
}

/** What a trainer holds on its current device; all of it is rebuilt by resume(). */
interface DeviceState {
  readonly gpu: Gpu;
  readonly store: ParameterStore;
  /** f32 [1] running loss sum, u32 [1] running correct count. */
  readonly lossSum: GpuTensor;
  readonly correct: GpuTensor;
}

export class Trainer {
  private readonly plans = new Map<string, StepPlan>();
  private state: DeviceState;
  private place: TrainPosition = { epoch: 1, batch: 0 };
  /** Global steps done when `place` was set (for a snapshot taken between epochs). */
  private placeStep = 0;
  /** The metrics a restored mid-epoch position carries into the rest of its epoch. */
  private carried = { lossSum: 0, correct: 0 };
  private destroyed = false;
  /** Every N steps (and at each epoch's end) a copy of the run's state; see snapshot.ts. */
  readonly snapshots: Snapshots;
  /** Every kernel choice the autotuner made for this trainer's plans, by key (tunedChoices). */
  private readonly tuned: Map<string, TunedProduct>;

  private constructor(
    gpu: Gpu,
    readonly buildGraph: (batch: number) => Graph,
    readonly options: TrainerOptions,
  ) {
    this.snapshots = new Snapshots(options.snapshotEvery ?? 0);
    this.tuned = new Map((options.tune?.replay ?? []).map((p) => [p.key, p]));
    this.state = deviceState(gpu, buildGraph(options.batchSize), options);
    this.snapshots.attach(gpu, this.state);
  }

  static create(gpu: Gpu, buildGraph: (batch: number) => Graph, options: TrainerOptions): Trainer {
    return new Trainer(gpu, buildGraph, options);
  }

  get gpu(): Gpu {
    return this.state.gpu;
  }

  get store(): ParameterStore {
    return this.state.store;
  }

  get lossSum(): GpuTensor {
    return this.state.lossSum;
  }

  get correct(): GpuTensor {
    return this.state.correct;
  }

  /** Where the next trainEpoch starts: its epoch and the batches of it already done. */
  get position(): TrainPosition {
    return this.place;
  }

  /** The training plan for host-provided batches (inputs written with writeTensor). */
  async plan(kind: 'train' | 'eval', batch: number, data?: GpuDataset): Promise<StepPlan> {
    // Every step, prediction and evaluation gets its plan here: one check covers them all.
    if (this.destroyed) throw new ShadergradError('this Trainer was destroyed (trainer.destroy())');
    const key = `${kind}|${batch}|${data ? `dataset ${datasetId(data)}` : 'host'}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = await this.compile(kind, batch, data);
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Every kernel choice the autotuner made for this trainer's plans so far (their reports'
   * products, without the candidates' times): what a checkpoint keeps so that the run it resumes
   * takes the same kernels (TuneOptions.replay). Empty when tuning is off.
   */
  tunedChoices(): TunedProduct[] {
    return [...this.tuned.values()].map(choiceOnly);
  }

  private async compile(kind: 'train' | 'eval', batch: number, data?: GpuDataset) {
    // A plan compiled again (after a device loss) or anew takes the choices already made: the
    // cache may have changed since, and the run must go on with the same kernels.
    const tune = this.options.tune && { ...this.options.tune, replay: [...this.tuned.values()] };
    const options = stepPlanOptions({
      training: kind === 'train',
      batch,
      data,
      metrics: this.state,
      matmulVariant: this.options.matmulVariant,
      tune,
      keepIntermediates: this.options.keepIntermediates,
      precision: this.options.precision,
    });
    const plan = await compileRetrying(this.gpu, `${kind} step at batch ${batch}`, () =>
      compilePlan(this.gpu, this.buildGraph(batch), this.store, options),
    );
    for (const p of plan.tuning?.products ?? []) this.tuned.set(p.key, p);
    return plan;
  }

  /**
   * Everything that can fail before step 1, checked before it: compiles the training plan on
   * `train` and the evaluation plan on `test` (each dataset's sample shape against the model's
   * input, every tensor against the device limits), so that neither fails after an epoch of
   * training. Both splits must hold images of one shape. Resolves to the training plan.
   */
  async prepare(train: GpuDataset, test: GpuDataset): Promise<StepPlan> {
    const [trainShape, testShape] = [train.sampleShape.join('x'), test.sampleShape.join('x')];
    if (trainShape !== testShape)
      throw new ShadergradError(
        `${train.name ?? 'training set'} holds ${trainShape} images, ${test.name ?? 'test set'} ${testShape}: both splits need one image shape`,
      );
    this.checkDevice(train);
    this.checkDevice(test);
    const plan = await this.plan('train', this.options.batchSize, train);
    const b = Math.min(EVAL_BATCH, test.count);
    // Its limits differ from the training step's (another batch): say which step hit them.
    if (b > 0)
      await this.plan('eval', b, test).catch((e: unknown) => {
        if (!(e instanceof ShadergradError) || e instanceof DeviceLostError) throw e;
        throw new ShadergradError(`evaluation step at batch ${b}: ${e.message}`, { cause: e });
      });
    return plan;
  }

  /** One training step on a host batch; resolves to the batch's mean loss. */
  async trainStep(images: Float32Array, labels: Int32Array): Promise<number> {
    return this.trainStepWith({ images, labels });
  }

  /**
   * One training step feeding every input node by name (e.g. images + labels for cross-entropy,
   * images + targets for MSE); resolves to the batch's mean loss. Host-fed steps take no
   * snapshots (the trainer does not know the data position): call snapshot() yourself.
   */
  async trainStepWith(feeds: Readonly<Record<string, Float32Array | Int32Array>>): Promise<number> {
    const plan = await this.plan('train', this.options.batchSize);
    writeInputs(this.gpu, plan, feeds);
    this.resetMetrics();
    plan.submit();
    const [loss] = await readFloat32(this.gpu, this.lossSum);
    return checkFinite(loss ?? NaN, 'training loss');
  }
  /**
   * The model's outputs [n, K] for n host images: class probabilities (softmax of the logits,
   * on the CPU) for cross-entropy models, the raw outputs for MSE models.
   */
  async predict(images: Float32Array, n: number): Promise<Float32Array> {
    return predictOn(this.gpu, await this.plan('eval', n), images);
  }

  resetMetrics(): void {
    this.writeMetrics({ lossSum: 0, correct: 0 });
  }

  /**
   * One epoch over `data` in a seeded order; the last partial batch is dropped. After a restore
   * or resume mid-epoch it continues that epoch from its next batch, with the same order. A
   * non-finite loss rejects with a DivergenceError, the weights back at the latest snapshot (see
   * divergence.ts).
   */
  async trainEpoch(
    data: GpuDataset,
    epoch: number,
    onProgress?: (p: EpochProgress) => void,
    readEvery = 20,
  ): Promise<EpochResult> {
    this.checkDevice(data);
    const batch = this.options.batchSize;
    const steps = Math.floor(data.count / batch);
    if (steps === 0)
      throw new ShadergradError(
        `dataset of ${data.count} samples is smaller than one batch of ${batch}`,
      );
    const start = this.startBatch(epoch, steps);
    const seed = permutationSeed(epoch, this.options.seed);
    writeTensor(this.gpu, data.perm, seededPermutation(data.count, seed));
    const plan = await this.plan('train', batch, data);
    checkDatasetLabels(plan, data);
    this.writeMetrics(start > 0 ? this.carried : { lossSum: 0, correct: 0 });
    // Before the first step: a loss before the first periodic snapshot can then resume too.
    if (this.snapshots.enabled && !this.snapshots.latest)
      await this.snapshots.take({
        position: { epoch, batch: start },
        step: (epoch - 1) * steps + start,
        permutationSeed: seed,
      });
    const run = await runSteps({
      gpu: this.gpu,
      plan,
      data,
      epoch,
      steps,
      start,
      batch,
      readEvery,
      seed: this.options.seed,
      metrics: this.state,
      snapshots: this.snapshots,
      ...(onProgress ? { onProgress } : {}),
    }).catch((e: unknown) => this.diverged(e, { plan, data, epoch, batch }));
    await this.snapshots.settle();
    this.place = { epoch: epoch + 1, batch: 0 };
    this.placeStep = epoch * steps;
    return {
      loss: run.lossSum / steps,
      accuracy: run.correct / (steps * batch),
      samples: (steps - start) * batch,
      seconds: run.seconds,
    };
  }

  /**
   * A non-finite loss: back to the latest snapshot (in debug mode after replaying from it to name
   * the first op that wrote a non-finite value), said in the error. Other errors pass through.
   */
  private async diverged(
    e: unknown,
    at: Pick<DivergedEpoch, 'plan' | 'data' | 'epoch' | 'batch'>,
  ): Promise<never> {
    if (!(e instanceof DivergenceError) || e.step === undefined) throw e;
    // Copies in flight may still be the latest good state; a failure of theirs matters less.
    await this.snapshots.settle().catch(() => undefined);
    const note = await diagnoseDivergence({
      ...at,
      gpu: this.gpu,
      failedStep: e.step,
      good: this.snapshots.latest,
      restore: (s) => this.restore(s),
    });
    throw new DivergenceError(`${e.message}${note}`, e.step, { cause: e });
  }

  /** The batch trainEpoch(epoch) starts at: 0, or where a restored snapshot left that epoch. */
  private startBatch(epoch: number, steps: number): number {
    const p = this.place;
    if (p.epoch === epoch) return Math.min(p.batch, steps);
    if (p.batch > 0)
      throw new ShadergradError(
        `trainEpoch(${epoch}): the run stands at epoch ${p.epoch}, batch ${p.batch} (restored from a snapshot); train epoch ${p.epoch} first`,
      );
    return 0;
  }

  private checkDevice(data: GpuDataset): void {
    if (data.device !== this.gpu.device)
      throw new ShadergradError(
        'dataset is on another device than the trainer: after a device loss, upload it again with uploadDataset(newGpu, ...)',
      );
  }

  private writeMetrics(m: { lossSum: number; correct: number }): void {
    writeTensor(this.gpu, this.lossSum, Float32Array.of(m.lossSum));
    writeTensor(this.gpu, this.correct, Uint32Array.of(m.correct));
  }

  /** Mean loss and accuracy over every sample of `data`, in file order. */
  async evaluate(
    data: GpuDataset,
    batch = EVAL_BATCH,
  ): Promise<{ loss: number; accuracy: number }> {
    this.checkDevice(data);
    return evaluateOn(this.gpu, this.state, data, batch, (b) => this.plan('eval', b, data));
  }

  /** A snapshot of the run now (between epochs or host-fed steps); waits for the copy. */
  async snapshot(): Promise<Snapshot> {
    return this.snapshots.take({
      position: this.place,
      step: this.placeStep,
      permutationSeed: permutationSeed(this.place.epoch, this.options.seed),
    });
  }

  /**
   * Puts a snapshot of this model's run (from this trainer, another one or a checkpoint) on the
   * current device: weights, optimizer state and step, the epoch's metrics and the position.
   */
  restore(s: Snapshot): void {
    if (s.permutationSeed !== permutationSeed(s.position.epoch, this.options.seed))
      throw new ShadergradError(
        `snapshot: its shuffle seed ${s.permutationSeed} is not this run's (seed ${this.options.seed}, epoch ${s.position.epoch})`,
      );
    restoreStore(this.store, s);
    this.carried = { lossSum: s.lossSum, correct: s.correct };
    this.writeMetrics(this.carried);
    this.place = s.position;
    this.placeStep = s.step;
  }

  /**
   * Continues on a new device after a device loss: rebuilds parameters, pipelines and plans
   * there, restores the latest snapshot and returns where the run now stands (at most
   * snapshotEvery steps back). Upload the datasets again to `gpu`, then call trainEpoch with
   * the returned epoch. The old device is left to its owner.
   */
  resume(gpu: Gpu): TrainPosition {
    const s = this.snapshots.latest;
    if (!s)
      throw new ShadergradError(
        this.snapshots.enabled
          ? 'resume: no snapshot was taken yet'
          : 'resume: snapshots are off (snapshotEvery 0), so there is nothing to resume from',
      );
    if (gpu.lostError) throw gpu.lostError;
    this.release();
    this.state = deviceState(gpu, this.buildGraph(this.options.batchSize), this.options);
    this.snapshots.attach(gpu, this.state);
    // Pipelines are compiled again on first use, by the plans of the new device.
    this.restore(s);
    return this.place;
  }

  private release(): void {
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
    this.snapshots.destroy();
    this.store.destroy();
    this.lossSum.buffer.destroy();
    this.correct.buffer.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.release();
  }
}

/** A fresh store and metrics on `gpu`; on failure (out of memory) frees what it made. */
function deviceState(gpu: Gpu, graph: Graph, options: TrainerOptions): DeviceState {
  const before = gpu.memory.liveSet();
  try {
    return {
      gpu,
      store: new ParameterStore(gpu, graph.parameters(), options.optimizer, options.seed),
      lossSum: createTensor(gpu, [1], { label: 'metrics.lossSum' }),
      correct: createTensor(gpu, [1], { dtype: 'u32', label: 'metrics.correct' }),
    };
  } catch (e) {
    for (const b of gpu.memory.liveSet()) if (!before.has(b)) b.destroy();
    throw e;
  }
}

/**
 * A number per uploaded dataset for plan keys: a plan binds its dataset's own buffers, so two
 * datasets of the same size (say MNIST and Fashion-MNIST) must not share one.
 */
const datasetIds = new WeakMap<GpuDataset, number>();
let datasetsSeen = 0;

function datasetId(data: GpuDataset): number {
  let id = datasetIds.get(data);
  if (id === undefined) {
    id = ++datasetsSeen;
    datasetIds.set(data, id);
  }
  return id;
}
