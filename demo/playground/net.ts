/**
 * One playground network: an MLP on 2-D points, trained full batch on the GPU through the public
 * API (Graph + Trainer). The training points are written to the training plan's inputs once;
 * `train(k)` then records k steps into one command buffer, copying each step's loss into a
 * read-back buffer, so a frame of k steps costs one submit and one read instead of k round trips.
 * `grid()` evaluates the network on a grid of points and reads every hidden unit's output there
 * (the eval plan keeps its intermediates, see TrainerOptions.keepIntermediates).
 */
import {
  Graph,
  ShadergradError,
  Trainer,
  readFloat32,
  writeTensor,
  type Activation,
  type Gpu,
  type GpuTensor,
  type OptimizerConfig,
  type StepPlan,
  type Toy2d,
} from '../api';

export type LossKind = 'mse' | 'crossEntropy';

export interface NetSpec {
  /** Widths of the hidden layers, input side first (may be empty: a linear model). */
  hidden: readonly number[];
  /** The hidden layers' activation. */
  activation: Activation;
  /** 'mse': sigmoid outputs against 0/1 targets; 'crossEntropy': softmax over class logits. */
  loss: LossKind;
}

/** A network's verdict on a set of points. */
export interface Evaluation {
  /** Predicted class of each point. */
  predicted: Int32Array;
  /** Points whose predicted class is not their label. */
  errors: number;
  /** Mean loss over the set (NaN for an empty set). */
  loss: number;
}

/** Hidden layer outputs over a grid: values[layer][unit] holds one value per grid point. */
export interface GridOutputs {
  /** [points, width]: sigmoid outputs (mse) or class probabilities (cross-entropy). */
  outputs: Float32Array;
  width: number;
  hidden: Float32Array[][];
}

/** The graph for `batch` points; returns it with the ids of the hidden layers' nodes. */
export function playgroundGraph(
  spec: NetSpec,
  data: Pick<Toy2d, 'classes' | 'targetWidth'>,
  batch: number,
): { graph: Graph; hiddenIds: number[] } {
  const g = new Graph();
  let x = g.input('images', [batch, 2]);
  const hiddenIds = spec.hidden.map((units, i) => {
    x = g.dense(x, { name: `fc${i + 1}`, units, activation: spec.activation });
    return x;
  });
  const name = `fc${spec.hidden.length + 1}`;
  if (spec.loss === 'mse') {
    const targets = g.input('targets', [batch, data.targetWidth]);
    const out = g.dense(x, { name, units: data.targetWidth, activation: 'sigmoid' });
    g.mse(out, targets);
  } else {
    const labels = g.labels('labels', batch);
    g.softmaxCrossEntropy(g.dense(x, { name, units: data.classes }), labels);
  }
  return { graph: g, hiddenIds };
}

export class PlaygroundNet {
  /** Optimizer steps taken. */
  step = 0;
  private log: GPUBuffer | undefined;

  private constructor(
    readonly gpu: Gpu,
    readonly trainer: Trainer,
    readonly data: Toy2d,
    private readonly loss: LossKind,
    private readonly trainPlan: StepPlan,
    private readonly hiddenIds: readonly number[],
  ) {}

  /** Compiles the training step and uploads the points; the same seed gives the same init. */
  static async create(
    gpu: Gpu,
    spec: NetSpec,
    data: Toy2d,
    optimizer: OptimizerConfig,
    seed: number,
  ): Promise<PlaygroundNet> {
    const { hiddenIds } = playgroundGraph(spec, data, 1);
    const build = (batch: number) => playgroundGraph(spec, data, batch).graph;
    const trainer = Trainer.create(gpu, build, {
      batchSize: data.count,
      optimizer,
      seed,
      keepIntermediates: true,
    });
    try {
      const plan = await trainer.plan('train', data.count);
      writeTensor(gpu, input(plan, 'images'), data.points);
      if (spec.loss === 'mse') writeTensor(gpu, input(plan, 'targets'), data.targets);
      else writeTensor(gpu, input(plan, 'labels'), data.labels);
      return new PlaygroundNet(gpu, trainer, data, spec.loss, plan, hiddenIds);
    } catch (e) {
      trainer.destroy();
      throw e;
    }
  }

  /** k full-batch steps in one submit; resolves to each step's loss (before its update). */
  async train(k: number): Promise<Float32Array> {
    if (this.gpu.lostError) throw this.gpu.lostError;
    const log = this.logBuffer(k);
    const loss = this.trainer.lossSum;
    const encoder = this.gpu.device.createCommandEncoder({ label: 'playground.steps' });
    for (let i = 0; i < k; i++) {
      // The metrics kernels add into lossSum: zero it so each copy holds one step's loss.
      encoder.clearBuffer(loss.buffer, loss.byteOffset, 4);
      const pass = encoder.beginComputePass({ label: 'playground.step' });
      this.trainPlan.encode(pass);
      pass.end();
      encoder.copyBufferToBuffer(loss.buffer, loss.byteOffset, log, 4 * i, 4);
    }
    this.gpu.device.queue.submit([encoder.finish()]);
    await log.mapAsync(GPUMapMode.READ, 0, 4 * k);
    const losses = new Float32Array(log.getMappedRange(0, 4 * k).slice(0));
    log.unmap();
    this.step += k;
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0)
      throw new ShadergradError(
        `loss at step ${this.step - k + bad + 1} is ${losses[bad]}: training diverged (lower the learning rate?)`,
      );
    return losses;
  }

  /**
   * Predicted class of each point of `set` (by default the training set), how many differ from
   * the labels, and the mean loss there with the current weights.
   */
  async evaluate(set: Toy2d = this.data): Promise<Evaluation> {
    const { points, count, labels } = set;
    if (count === 0) return { predicted: new Int32Array(0), errors: 0, loss: NaN };
    const out = await this.trainer.predict(points, count);
    const predicted = argmaxRows(out, out.length / count);
    const errors = predicted.reduce((n, p, i) => n + (p === labels[i] ? 0 : 1), 0);
    return { predicted, errors, loss: meanLoss(out, set, this.loss) };
  }

  /** The network's outputs at `points` ([n, 2]) and, if asked, every hidden unit's output. */
  async grid(points: Float32Array, withHidden = true): Promise<GridOutputs> {
    const n = points.length / 2;
    const outputs = await this.trainer.predict(points, n);
    const plan = await this.trainer.plan('eval', n);
    const hidden = await Promise.all(
      (withHidden ? this.hiddenIds : []).map(async (id) => {
        const t = plan.tensorOf(id);
        if (!t) throw new ShadergradError(`eval plan kept no value for node ${id}`);
        return splitColumns(await readFloat32(this.gpu, t), t.shape[1] ?? 1);
      }),
    );
    return { outputs, width: outputs.length / n, hidden };
  }

  destroy(): void {
    this.log?.destroy();
    this.trainer.destroy();
  }

  /** A read-back buffer for k losses, grown as needed. */
  private logBuffer(k: number): GPUBuffer {
    if (!Number.isInteger(k) || k < 1)
      throw new ShadergradError(`steps per frame = ${k}, expected a whole number >= 1`);
    if (!this.log || this.log.size < 4 * k) {
      this.log?.destroy();
      this.log = this.gpu.device.createBuffer({
        label: 'playground.lossLog',
        size: 4 * k,
        usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
      });
    }
    return this.log;
  }
}

function input(plan: StepPlan, name: string): GpuTensor {
  const t = plan.inputs.get(name);
  if (!t) throw new ShadergradError(`the training plan has no input '${name}'`);
  return t;
}

/** Class per row: a single sigmoid output is class 1 above 0.5; otherwise the largest column. */
export function argmaxRows(values: Float32Array, width: number): Int32Array {
  const rows = values.length / width;
  return Int32Array.from({ length: rows }, (_, r) => {
    if (width === 1) return (values[r] ?? 0) > 0.5 ? 1 : 0;
    let best = 0;
    for (let c = 1; c < width; c++)
      if ((values[r * width + c] ?? 0) > (values[r * width + best] ?? 0)) best = c;
    return best;
  });
}

/** [n, width] row-major -> width columns of n values. */
function splitColumns(values: Float32Array, width: number): Float32Array[] {
  const n = values.length / width;
  return Array.from({ length: width }, (_, c) =>
    Float32Array.from({ length: n }, (_, r) => values[r * width + c] ?? 0),
  );
}

/**
 * The mean loss of `outputs` ([n, width], from Trainer.predict) on `set`: MSE averages the squared
 * error over every output; cross-entropy averages -log p(label) over the points.
 */
export function meanLoss(outputs: Float32Array, set: Toy2d, loss: LossKind): number {
  if (set.count === 0) return NaN;
  if (loss === 'mse') {
    const sum = set.targets.reduce((a, t, i) => a + ((outputs[i] ?? 0) - t) ** 2, 0);
    return sum / set.targets.length;
  }
  const width = outputs.length / set.count;
  const sum = set.labels.reduce(
    (a, l, i) => a - Math.log(Math.max(outputs[i * width + l] ?? 0, 1e-12)),
    0,
  );
  return sum / set.count;
}
