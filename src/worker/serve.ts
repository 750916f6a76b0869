/**
 * The worker side of training off the main thread: `serveTrainer(self)` in a dedicated worker
 * answers TrainerWorker's requests (protocol.ts). It owns the device, one trainer and the host
 * datasets. GPU work runs one piece at a time in arrival order (see exclusive()); a `train`
 * request queues each step on its own, so predictions and evaluations asked for while training
 * run between two steps, and pause() stops the loop after the step in flight.
 */
import {
  ShadergradError,
  TUNE_MODES,
  initDevice,
  type Gpu,
  type InitOptions,
  type Trainer,
  type TuneMode,
} from '../core';
import { defaultTrainConfig, validateModel, type TrainConfig } from '../models/config';
import { createTrainer } from '../models/network';
import { loadModel, modelBytes } from '../models/stateDict';
import { evaluateHost } from './evaluate';
import { HostLoop } from './hostLoop';
import type {
  HostDataset,
  MessageEndpoint,
  Ops,
  TrainRequest,
  TrainResult,
  WorkerModel,
  WorkerRequest,
  WorkerResponse,
} from './protocol';
import { toWire, transfersOf } from './protocol';

type Post = (message: WorkerResponse, transfer?: Transferable[]) => void;

/** One trainer and its data inside the worker; each method answers one op. */
class TrainerHost {
  private gpu: Gpu | undefined;
  private trainer: Trainer | undefined;
  private config: TrainConfig | undefined;
  private loop: HostLoop | undefined;
  private train: HostDataset | undefined;
  private test: HostDataset | undefined;
  private running: Promise<TrainResult> | undefined;
  private pauseRequested = false;
  /** The tail of the GPU work queue: see exclusive(). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly post: Post,
    private readonly deviceOptions: InitOptions,
  ) {}

  /**
   * Runs `work` after all GPU work queued before it. Evaluation plans accumulate into the same
   * metric buffers as the training step, so nothing may land between a step's submit and its
   * read-back.
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  async init(): Promise<Gpu> {
    if (!this.gpu) {
      const gpu = await initDevice(this.deviceOptions);
      this.gpu = gpu;
      void gpu.lost.then((e) => this.post({ id: 0, kind: 'lost', error: toWire(e) }));
    }
    if (this.gpu.lostError) throw this.gpu.lostError;
    return this.gpu;
  }

  private ready(): { trainer: Trainer; config: TrainConfig } {
    if (!this.trainer || !this.config)
      throw new ShadergradError('no network in the worker: call create(config) first');
    return { trainer: this.trainer, config: this.config };
  }

  /** Stops a running train request and waits until it has ended. */
  private async stop(): Promise<void> {
    this.pauseRequested = true;
    await this.running?.catch(() => undefined);
  }

  /**
   * A fresh trainer for `config`, its training step compiled with the autotuner in `mode`
   * (default 'cached': products the store has no choice for are timed on this device, each
   * announced on `log`, and the choices kept in IndexedDB for the next visit).
   */
  async create(
    config: Ops['create']['args']['config'],
    mode: TuneMode = 'cached',
    log: (line: string) => void = () => undefined,
  ): Promise<WorkerModel> {
    const full: TrainConfig =
      'layers' in config ? { ...defaultTrainConfig(), model: config } : config;
    validateModel(full.model);
    if (!TUNE_MODES.includes(mode))
      throw new ShadergradError(
        `create: tune must be one of ${TUNE_MODES.join(', ')}, got '${String(mode)}'`,
      );
    const gpu = await this.init();
    await this.stop();
    return this.exclusive(async () => {
      this.dropTrainer();
      const trainer = createTrainer(gpu, full, { tune: { mode, log } });
      this.trainer = trainer;
      this.config = full;
      const plan = await trainer.plan('train', full.batchSize);
      const parameters = [...trainer.store.params].map(([name, p]) => ({
        name,
        shape: [...p.spec.shape],
      }));
      const tuning = plan.tuning ? { tuning: plan.tuning } : {};
      return { adapter: gpu.adapter, config: full, memory: plan.memory, parameters, ...tuning };
    });
  }

  private dropTrainer(): void {
    this.trainer?.destroy();
    this.trainer = undefined;
    this.loop = undefined;
  }

  async setData(train?: HostDataset, test?: HostDataset): Promise<void> {
    await this.stop();
    if (train) {
      this.train = train;
      this.loop = undefined;
    }
    if (test) this.test = test;
  }

  /** The loop over the (limited) training set, made on first use after create or setData. */
  private hostLoop(): HostLoop {
    const { trainer, config } = this.ready();
    if (!this.train)
      throw new ShadergradError('no training data in the worker: call setData({ train }) first');
    this.loop ??= new HostLoop(trainer, {
      ...this.train,
      count: Math.min(this.train.count, config.limit ?? Infinity),
    });
    return this.loop;
  }

  trainSteps(request: TrainRequest, onProgress: Post, id: number): Promise<TrainResult> {
    if (this.running) throw new ShadergradError('the worker is already training: pause() first');
    const loop = this.hostLoop();
    const steps = request.steps ?? (request.epochs ?? Infinity) * loop.epochSteps;
    this.pauseRequested = false;
    const run = async (): Promise<TrainResult> => {
      for (let done = 0; done < steps; done++) {
        if (this.pauseRequested) return this.result('paused', loop);
        const progress = await this.exclusive(() => loop.next());
        onProgress({ id, kind: 'progress', progress });
      }
      return this.result('done', loop);
    };
    const running = run().finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private result(reason: TrainResult['reason'], loop: HostLoop): TrainResult {
    return { reason, step: loop.steps, epoch: loop.currentEpoch };
  }

  pause(): void {
    this.pauseRequested = true;
  }

  evaluate(count?: number) {
    const { trainer, config } = this.ready();
    const test = this.test;
    if (!test)
      throw new ShadergradError('no test data in the worker: call setData({ test }) first');
    const crossEntropy = config.model.loss === 'softmaxCrossEntropy';
    const classes = config.model.classes;
    return this.exclusive(() => evaluateHost(trainer, test, classes, crossEntropy, count));
  }

  predict(images: Float32Array, count: number): Promise<Float32Array> {
    const { trainer } = this.ready();
    return this.exclusive(() => trainer.predict(images, count));
  }

  parameter(name: string): Promise<Float32Array> {
    const { trainer } = this.ready();
    return this.exclusive(() => trainer.store.read(name));
  }

  saveWeights(metadata: Record<string, string> = {}, names?: string[]): Promise<Uint8Array> {
    const { trainer } = this.ready();
    const only = names ? (n: string) => names.includes(n) : undefined;
    return this.exclusive(() => modelBytes(trainer, metadata, only));
  }

  loadWeights(bytes: Uint8Array, source: string): Promise<void> {
    const { trainer } = this.ready();
    return this.exclusive(() => Promise.resolve(void loadModel(trainer, bytes, source)));
  }

  async destroy(): Promise<void> {
    await this.stop();
    await this.exclusive(() => Promise.resolve(this.dropTrainer()));
    this.train = this.test = undefined;
  }
}

/** Answers one request; what it resolves to is the op's result. */
function answer(host: TrainerHost, r: WorkerRequest, post: Post): unknown {
  switch (r.op) {
    case 'init':
      return host.init().then((gpu) => gpu.adapter);
    case 'create':
      return host.create(r.config, r.tune, (line) => post({ id: r.id, kind: 'tuning', line }));
    case 'setData':
      return host.setData(r.train, r.test);
    case 'train':
      return host.trainSteps(r, post, r.id);
    case 'pause':
      return host.pause();
    case 'evaluate':
      return host.evaluate(r.count);
    case 'predict':
      return host.predict(r.images, r.count);
    case 'parameter':
      return host.parameter(r.name);
    case 'saveWeights':
      return host.saveWeights(r.metadata, r.names);
    case 'loadWeights':
      return host.loadWeights(r.bytes, r.source);
    case 'destroy':
      return host.destroy();
    default:
      return r satisfies never;
  }
}

export interface ServeOptions {
  /** Passed to initDevice() when the first request needs the device. */
  device?: InitOptions;
}

/**
 * Serves TrainerWorker's requests on `endpoint`: in a dedicated worker, `serveTrainer(self)`.
 * Nothing happens until the page asks (the device is opened by the first `init` or `create`).
 * Errors go back to the page as their class name and message; typed arrays in results
 * (predictions, parameters, weights, confusion counts) are transferred.
 */
export function serveTrainer(endpoint: MessageEndpoint, options: ServeOptions = {}): void {
  const post: Post = (message, transfer = []) => endpoint.postMessage(message, { transfer });
  const host = new TrainerHost(post, options.device ?? {});
  endpoint.addEventListener('message', (event: MessageEvent) => {
    const r = event.data as WorkerRequest;
    Promise.resolve()
      .then(() => answer(host, r, post))
      .then(
        (value) => post({ id: r.id, kind: 'result', value }, transfersOf(value)),
        (e: unknown) => post({ id: r.id, kind: 'error', error: toWire(e) }),
      )
      .catch(() => undefined);
  });
}
