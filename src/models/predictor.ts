/**
 * Inference for apps that only predict: a model file (safetensors with PyTorch's names, as
 * modelBytes and the CLI write it) loaded into a parameter store without an optimizer, so the GPU
 * holds the weights and the forward pass's buffers only: no gradients, no optimizer state, no
 * backward pass. Predictions run the same evaluation plans and the same host-side code as
 * Trainer.predict (src/train/forward.ts), so they are the same numbers.
 */
import {
  ParameterStore,
  ShadergradError,
  compilePlan,
  compileRetrying,
  createTensor,
  evaluateOn,
  predictOn,
  stepPlanOptions,
  type GpuDataset,
  type Gpu,
  type MatmulVariant,
  type MetricTensors,
  type StepPlan,
} from '../core';
import { readSafetensors } from '../formats/safetensors';
import { validateModel, type ModelConfig, type TrainConfig } from './config';
import { buildGraph } from './network';
import { loadParameters, savedConfig } from './stateDict';

export interface PredictorOptions {
  /** The model; default: the config saved in the file's metadata (`shadergrad.config`). */
  config?: TrainConfig | ModelConfig;
  /** Images per GPU pass at most (default 100): bounds the memory a prediction takes. */
  batchSize?: number;
  /** The file's name in error messages (default 'model.safetensors'). */
  source?: string;
  matmulVariant?: MatmulVariant;
}

/** Plans kept compiled at once: the full batch, a remainder, a dataset's two. */
const MAX_PLANS = 4;

/** A loaded model that predicts on the GPU; make one with loadPredictor. */
export class Predictor {
  private readonly plans = new Map<string, StepPlan>();
  private readonly metrics: MetricTensors;
  /** Calls run one at a time: they share plans and inputs, and a new plan may evict an old one. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly datasets = new WeakMap<GpuDataset, number>();
  private datasetsSeen = 0;
  private destroyed = false;

  /** Prefer loadPredictor: this takes a store already holding the model's weights. */
  constructor(
    readonly gpu: Gpu,
    readonly model: ModelConfig,
    readonly store: ParameterStore,
    readonly batchSize: number,
    private readonly matmulVariant?: MatmulVariant,
  ) {
    this.metrics = {
      lossSum: createTensor(gpu, [1], { label: 'metrics.lossSum' }),
      correct: createTensor(gpu, [1], { dtype: 'u32', label: 'metrics.correct' }),
    };
  }

  /** Values per image: channels x height x width of the model's input. */
  get imageSize(): number {
    const { channels, height, width } = this.model.input;
    return channels * height * width;
  }

  /**
   * Class probabilities `[count, classes]` (softmax of the logits) for `count` images laid out
   * `[count, channels, height, width]`, as floats the way the model was trained on them (pixels /
   * 255 for the datasets here) or as bytes 0..255, divided by 255 as the GPU batch gathering does.
   */
  async predict(images: Float32Array | Uint8Array, count: number): Promise<Float32Array> {
    const floats = this.checkImages(images, count);
    return this.serial(async () => {
      const out = new Float32Array(count * this.model.classes);
      for (let done = 0; done < count; done += this.batchSize) {
        const b = Math.min(this.batchSize, count - done);
        const chunk = floats(done, b);
        out.set(await predictOn(this.gpu, await this.plan(b), chunk), done * this.model.classes);
      }
      return out;
    });
  }

  /** The most probable class of each image (the argmax of predict's rows; the first on ties). */
  async classify(images: Float32Array | Uint8Array, count: number): Promise<Int32Array> {
    const p = await this.predict(images, count);
    const K = this.model.classes;
    return Int32Array.from({ length: count }, (_, i) => {
      let best = 0;
      for (let k = 1; k < K; k++) if ((p[i * K + k] ?? 0) > (p[i * K + best] ?? 0)) best = k;
      return best;
    });
  }

  /** Mean loss and accuracy over every sample of a GPU dataset, as Trainer.evaluate. */
  async evaluate(
    data: GpuDataset,
    batch = this.batchSize,
  ): Promise<{ loss: number; accuracy: number }> {
    wholeNumber(batch, 'evaluate batch');
    return this.serial(() =>
      evaluateOn(this.gpu, this.metrics, data, batch, (b) => this.plan(b, data)),
    );
  }

  /**
   * The compiled forward plan for `count` host images (or a dataset's batches), compiled on first
   * use; its `memory` report says what it holds (gradients and optimizer state: 0).
   */
  async plan(count: number, data?: GpuDataset): Promise<StepPlan> {
    // predict, classify and evaluate all get their plans here: one check covers them.
    if (this.destroyed)
      throw new ShadergradError('this Predictor was destroyed (predictor.destroy())');
    const key = data ? `dataset ${this.datasetId(data)}|${count}` : `host|${count}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const options = stepPlanOptions({
      training: false,
      batch: count,
      data,
      metrics: data ? this.metrics : undefined,
      matmulVariant: this.matmulVariant,
    });
    const plan = await compileRetrying(this.gpu, `forward pass of ${count} images`, () =>
      compilePlan(this.gpu, buildGraph(this.model, count), this.store, options),
    );
    this.plans.set(key, plan);
    for (const [k, old] of this.plans) {
      if (this.plans.size <= MAX_PLANS) break;
      old.destroy();
      this.plans.delete(k);
    }
    return plan;
  }

  /** Frees the weights and plans; the device stays its owner's. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
    this.store.destroy();
    this.metrics.lossSum.buffer.destroy();
    this.metrics.correct.buffer.destroy();
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private datasetId(data: GpuDataset): number {
    let id = this.datasets.get(data);
    if (id === undefined) {
      id = ++this.datasetsSeen;
      this.datasets.set(data, id);
    }
    return id;
  }

  /** Checks count and size (and that floats are finite); returns a slicer of float batches. */
  private checkImages(
    images: Float32Array | Uint8Array,
    count: number,
  ): (start: number, n: number) => Float32Array {
    wholeNumber(count, 'predict count');
    if (!(images instanceof Float32Array) && !(images instanceof Uint8Array))
      throw new ShadergradError('predict: images must be a Float32Array or a Uint8Array');
    const size = this.imageSize;
    const { channels, height, width } = this.model.input;
    if (images.length !== count * size)
      throw new ShadergradError(
        `predict: ${count} images of [${channels}, ${height}, ${width}] are ${count * size} values, got ${images.length}`,
      );
    if (images instanceof Uint8Array)
      return (start, n) =>
        Float32Array.from(images.subarray(start * size, (start + n) * size), (v) => v / 255);
    const bad = images.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new ShadergradError(
        `predict: value ${bad} (image ${Math.floor(bad / size)}) is ${images[bad]}, not a finite number`,
      );
    return (start, n) => images.subarray(start * size, (start + n) * size);
  }
}

/**
 * A Predictor for the model in `bytes` (a safetensors file): its config from `options.config`
 * or else the file's metadata, its weights checked tensor by tensor against that model (name,
 * dtype, shape). Allocates the weights only: no gradients, no optimizer state.
 */
export function loadPredictor(
  gpu: Gpu,
  bytes: Uint8Array,
  options: PredictorOptions = {},
): Predictor {
  const source = options.source ?? 'model.safetensors';
  const file = readSafetensors(bytes, source);
  const config = options.config ?? savedConfig(file, source);
  if (!config)
    throw new ShadergradError(
      `${source}: no shadergrad.config metadata and no config given: pass loadPredictor(gpu, bytes, { config }), or save with modelBytes(trainer, configMetadata(config))`,
    );
  const model = 'model' in config ? config.model : config;
  validateModel(model);
  const batchSize = options.batchSize ?? 100;
  wholeNumber(batchSize, 'batchSize');
  const before = gpu.memory.liveSet();
  try {
    const store = new ParameterStore(gpu, buildGraph(model, 1).parameters(), undefined, 0);
    loadParameters(store, file, source);
    return new Predictor(gpu, model, store, batchSize, options.matmulVariant);
  } catch (e) {
    for (const b of gpu.memory.liveSet()) if (!before.has(b)) b.destroy();
    throw e;
  }
}

function wholeNumber(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1)
    throw new ShadergradError(`${what}: expected a whole number >= 1, got ${n}`);
}
