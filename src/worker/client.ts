/**
 * The page side of training off the main thread: TrainerWorker sends typed requests to a worker
 * running serveTrainer (serve.ts) and resolves each with the worker's answer. The page keeps
 * only rendering; the device, the trainer and the training loop live in the worker.
 */
import { ShadergradError, type AdapterSummary, type TuneMode } from '../core';
import type { ModelConfig, TrainConfig } from '../models/config';
import {
  buffersOf,
  type Evaluation,
  type HostDataset,
  type MessageEndpoint,
  type Op,
  type Ops,
  type TrainProgress,
  type TrainRequest,
  type TrainResult,
  type WireError,
  type WorkerModel,
  type WorkerResponse,
} from './protocol';

/** An error the worker threw, with its message unchanged and its class name in `remoteName`. */
export class WorkerError extends ShadergradError {
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  /** A `train` request's steps. */
  onProgress?: ((p: TrainProgress) => void) | undefined;
  /** A `create` request's tuning lines. */
  onTuning?: ((line: string) => void) | undefined;
}

/** Options of TrainerWorker.create. */
export interface CreateOptions {
  /**
   * How the training step's matrix products are chosen (see TuneOptions): 'cached' (the default)
   * times on this device each product the browser has no stored choice for and keeps the
   * choices in IndexedDB; 'full' times them all again; 'off' takes the adapter's defaults.
   */
  tune?: TuneMode;
  /** One line per product the autotuner times ("tuning 3/8: ..."), while create() runs. */
  onTuning?: (line: string) => void;
}

/** Options of TrainerWorker.setData. */
export interface SetDataOptions {
  /**
   * Transfer the arrays' buffers instead of copying them: no copy on the page's thread, but the
   * arrays are unusable (detached) on the page afterwards. Default false.
   */
  transfer?: boolean;
}

/**
 * A Trainer in a dedicated worker, driven from the page. Every method returns a promise of the
 * worker's answer; an error thrown in the worker rejects it with a WorkerError carrying the
 * same message. Requests are answered in order, except that pause() acts at once and that
 * predict/evaluate/parameter/saveWeights asked for while training run between two steps.
 */
export class TrainerWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failed: Error | undefined;
  /** Resolves with the error when the worker's device is lost (never rejects). */
  readonly lost: Promise<WorkerError>;
  private markLost: (e: WorkerError) => void = () => undefined;

  /** `endpoint`: a Worker running serveTrainer (or any port whose other end serves). */
  constructor(private readonly endpoint: MessageEndpoint) {
    this.lost = new Promise((resolve) => (this.markLost = resolve));
    endpoint.addEventListener('message', (e: MessageEvent) =>
      this.receive(e.data as WorkerResponse),
    );
    if (typeof Worker !== 'undefined' && endpoint instanceof Worker)
      endpoint.addEventListener('error', (e: ErrorEvent) => {
        e.preventDefault();
        this.fail(
          new ShadergradError(
            `the trainer worker failed: ${e.message || 'could not load its script'}`,
          ),
        );
      });
  }

  private receive(r: WorkerResponse): void {
    if (r.kind === 'lost') return this.markLost(fromWire(r.error));
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.kind === 'progress') return p.onProgress?.(r.progress);
    if (r.kind === 'tuning') return p.onTuning?.(r.line);
    this.pending.delete(r.id);
    if (r.kind === 'result') p.resolve(r.value);
    else p.reject(fromWire(r.error));
  }

  /** Rejects everything pending and every later request with `e`. */
  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private request<K extends Op>(
    op: K,
    args: Ops[K]['args'],
    transfer: Transferable[] = [],
    listeners: Pick<Pending, 'onProgress' | 'onTuning'> = {},
  ): Promise<Ops[K]['result']> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...listeners });
      this.endpoint.postMessage({ id, op, ...args }, { transfer });
    });
  }

  /** Opens the worker's device (create() does it too); resolves to the adapter found. */
  init(): Promise<AdapterSummary> {
    return this.request('init', {});
  }

  /**
   * A fresh network for `config` (a ModelConfig gets defaultTrainConfig()'s optimizer, batch
   * and seed); stops a running train() and frees the previous network. Resolves once its
   * training step is compiled (and tuned, see CreateOptions: on a first visit that can take
   * seconds, 10-20 on a software adapter), with the adapter, the memory plan, the parameter
   * names and what the autotuner chose.
   */
  create(config: TrainConfig | ModelConfig, options: CreateOptions = {}): Promise<WorkerModel> {
    const args = options.tune ? { config, tune: options.tune } : { config };
    return this.request('create', args, [], { onTuning: options.onTuning });
  }

  /** Gives the worker its training and/or test set (kept across create()). */
  setData(data: { train?: HostDataset; test?: HostDataset }, options: SetDataOptions = {}) {
    const views = [data.train, data.test].flatMap((d) => (d ? [d.images, d.labels] : []));
    const arg = (d?: HostDataset) =>
      d && { images: d.images, labels: d.labels, count: d.count, rows: d.rows, cols: d.cols };
    const args = { train: arg(data.train), test: arg(data.test) };
    return this.request('setData', args, options.transfer ? buffersOf(...views) : []);
  }

  /**
   * Trains `steps` steps, `epochs` epochs' worth of steps, or (neither) until pause(), on the
   * training set in trainEpoch's seeded order, from where the last call stopped. `onProgress`
   * gets every step. Rejects while another train() runs.
   */
  train(request: TrainRequest = {}, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
    return this.request('train', request, [], { onProgress });
  }

  /** Asks a running train() to stop after the step in flight (it then resolves 'paused'). */
  pause(): Promise<void> {
    return this.request('pause', {});
  }

  /** Loss, accuracy and confusion matrix on the first `count` test images (default: all). */
  evaluate(count?: number): Promise<Evaluation> {
    return this.request('evaluate', count === undefined ? {} : { count });
  }

  /** Class probabilities [count, classes] of `count` images [count, 1, rows, cols] in [0, 1]. */
  predict(images: Float32Array, count: number): Promise<Float32Array> {
    return this.request('predict', { images, count });
  }

  /** One parameter's values (e.g. 'conv1.weight'), in its PyTorch layout. */
  parameter(name: string): Promise<Float32Array> {
    return this.request('parameter', { name });
  }

  /** The parameters (all, or those in `names`) as safetensors bytes with PyTorch's names. */
  saveWeights(metadata: Record<string, string> = {}, names?: string[]): Promise<Uint8Array> {
    return this.request('saveWeights', names ? { metadata, names } : { metadata });
  }

  /** Loads parameters from safetensors bytes; names and shapes must match the network's. */
  loadWeights(bytes: Uint8Array, source = 'weights'): Promise<void> {
    return this.request('loadWeights', { bytes, source });
  }

  /** Stops training and frees the network and data in the worker; ends a Worker too. */
  async destroy(): Promise<void> {
    try {
      await this.request('destroy', {});
    } finally {
      if (typeof Worker !== 'undefined' && this.endpoint instanceof Worker)
        this.endpoint.terminate();
      this.fail(new ShadergradError('the trainer worker was destroyed'));
    }
  }
}

function fromWire(e: WireError): WorkerError {
  return new WorkerError(e.name, e.message);
}
