/**
 * A training session: one network (a Trainer from the public API) trained step by step on host
 * batches, so it can pause between any two steps. Each step shuffles through the training set in
 * a seeded order per epoch, uploads one batch, runs forward + backward + optimizer on the GPU and
 * reads back the batch's mean loss and its correct count (two 4-byte reads).
 */
import {
  createTrainer,
  readTensor,
  seededPermutation,
  type Dataset,
  type Gpu,
  type MemoryReport,
  type TrainConfig,
  type Trainer,
} from './api';
import { fillBatch, pixelsOf } from './data';

export interface StepStats {
  /** Steps done since the network was created. */
  step: number;
  /** 1-based epoch of the step just done, and how far into it. */
  epoch: number;
  epochStep: number;
  epochSteps: number;
  loss: number;
  /** Fraction of the batch classified correctly (before the update). */
  accuracy: number;
  /** Over the last few steps, wall clock, including upload and read-back. */
  samplesPerSecond: number;
}

export interface Confusion {
  /** counts[truth * classes + predicted]. */
  counts: Int32Array;
  classes: number;
  total: number;
  accuracy: number;
}

export class TrainingSession {
  step = 0;
  private epoch = 1;
  private cursor = 0;
  private order: Uint32Array;
  private pauseRequested = false;
  private running = false;
  private readonly stepTimes: number[] = [];
  /** The tail of the GPU work queue: see exclusive(). */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly images: Float32Array;
  private readonly labels: Int32Array;

  private constructor(
    readonly gpu: Gpu,
    readonly trainer: Trainer,
    readonly config: TrainConfig,
    readonly train: Dataset,
    /** Planned GPU bytes of the training step, by kind. */
    readonly memory: MemoryReport,
  ) {
    const B = config.batchSize;
    this.images = new Float32Array(B * pixelsOf(train));
    this.labels = new Int32Array(B);
    this.order = seededPermutation(train.count, config.seed * 1000 + this.epoch);
  }

  /** A fresh network for `config`; compiles its training step (all pipelines) before returning. */
  static async create(gpu: Gpu, config: TrainConfig, train: Dataset): Promise<TrainingSession> {
    const trainer = createTrainer(gpu, config);
    try {
      const plan = await trainer.plan('train', config.batchSize);
      return new TrainingSession(gpu, trainer, config, train, plan.memory);
    } catch (e) {
      trainer.destroy();
      throw e;
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  get epochSteps(): number {
    return Math.floor(this.train.count / this.config.batchSize);
  }

  /** Trains until pause() or until onStep returns false. */
  async run(onStep: (s: StepStats) => boolean | Promise<boolean>): Promise<void> {
    this.running = true;
    this.pauseRequested = false;
    try {
      while (!this.pauseRequested) {
        const stats = await this.exclusive(() => this.trainOneStep());
        if (!(await onStep(stats))) break;
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs `work` after all GPU work queued before it. Evaluation plans accumulate into the same
   * loss and correct-count buffers as the training step, so a prediction must never land between
   * a step's submit and its read-back.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Stops after the step in flight. */
  pause(): void {
    this.pauseRequested = true;
  }

  private async trainOneStep(): Promise<StepStats> {
    const B = this.config.batchSize;
    if (this.cursor + B > this.train.count) {
      // The last partial batch is dropped, as in Trainer.trainEpoch; then a new shuffle.
      this.epoch++;
      this.cursor = 0;
      this.order = seededPermutation(this.train.count, this.config.seed * 1000 + this.epoch);
    }
    fillBatch(
      this.train,
      this.order.subarray(this.cursor, this.cursor + B),
      this.images,
      this.labels,
    );
    this.cursor += B;
    const loss = await this.trainer.trainStep(this.images, this.labels);
    const [correct = 0] = await readTensor(this.gpu, this.trainer.correct);
    this.step++;
    const now = performance.now();
    this.stepTimes.push(now);
    if (this.stepTimes.length > 11) this.stepTimes.shift();
    const first = this.stepTimes[0] ?? now;
    const span = (now - first) / 1000;
    return {
      step: this.step,
      epoch: this.epoch,
      epochStep: this.cursor / B,
      epochSteps: this.epochSteps,
      loss,
      accuracy: correct / B,
      samplesPerSecond: span > 0 ? ((this.stepTimes.length - 1) * B) / span : 0,
    };
  }

  /** Class probabilities [n, classes] for n images [n, 1, 28, 28]. */
  predict(images: Float32Array, n: number): Promise<Float32Array> {
    return this.exclusive(() => this.trainer.predict(images, n));
  }

  /** Confusion matrix of the first `count` test images, predicted in chunks of up to 100. */
  confusion(test: Dataset, count: number): Promise<Confusion> {
    return this.exclusive(() => this.confusionNow(test, count));
  }

  private async confusionNow(test: Dataset, count: number): Promise<Confusion> {
    const classes = this.config.model.classes;
    const n = Math.min(count, test.count);
    const chunk = Math.min(100, n);
    const P = pixelsOf(test);
    const counts = new Int32Array(classes * classes);
    const images = new Float32Array(chunk * P);
    const labels = new Int32Array(chunk);
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      images.fill(0); // a short last chunk is padded with blank images, ignored below
      fillBatch(
        test,
        Array.from({ length: size }, (_, i) => start + i),
        images,
        labels,
      );
      const probs = await this.trainer.predict(images, chunk);
      for (let i = 0; i < size; i++) {
        const row = probs.subarray(i * classes, (i + 1) * classes);
        const predicted = row.indexOf(Math.max(...row));
        const cell = (labels[i] ?? 0) * classes + predicted;
        counts[cell] = (counts[cell] ?? 0) + 1;
      }
    }
    let right = 0;
    for (let k = 0; k < classes; k++) right += counts[k * classes + k] ?? 0;
    return { counts, classes, total: n, accuracy: n > 0 ? right / n : 0 };
  }

  /** The first layer's weights and shape (e.g. conv1.weight [O, C, KH, KW]). */
  firstLayer(): Promise<{ name: string; weights: Float32Array; shape: readonly number[] }> {
    const [name = '', p] = [...this.trainer.store.params.entries()][0] ?? [];
    return this.exclusive(async () => ({
      name,
      weights: await this.trainer.store.read(name),
      shape: p?.spec.shape ?? [],
    }));
  }

  destroy(): void {
    this.pause();
    this.trainer.destroy();
  }
}
