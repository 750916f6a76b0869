/**
 * The message protocol between a page and a worker that trains (serveTrainer, TrainerWorker):
 * requests carry an id and an op; the worker answers each with one result or one error, and
 * sends progress messages for a running `train` request and tuning lines for a `create`.
 * Everything crosses by structured clone; big byte arrays (datasets, weights, predictions) are
 * transferred, not copied.
 */
import type { AdapterSummary, MemoryReport, TuneMode, TuningReport } from '../core';
import type { Dataset } from '../data/datasets';
import type { ModelConfig, TrainConfig } from '../models/config';

/** A dataset as the worker needs it: raw pixel bytes, labels and geometry (see datasetToGpu). */
export type HostDataset = Pick<Dataset, 'images' | 'labels' | 'count' | 'rows' | 'cols'>;

/** What a worker reports of the network it built. */
export interface WorkerModel {
  adapter: AdapterSummary;
  config: TrainConfig;
  /** Planned GPU bytes of the training step, by kind. */
  memory: MemoryReport;
  /** Parameters in state_dict order (PyTorch's names and shapes). */
  parameters: { name: string; shape: number[] }[];
  /** What the autotuner chose for the training step; absent when create() asked for tune 'off'. */
  tuning?: TuningReport;
}

/** One training step done in the worker, as sent to the page. */
export interface TrainProgress {
  /** Steps done since the network was created. */
  step: number;
  /** 1-based epoch of the step just done, its batch within the epoch, and batches per epoch. */
  epoch: number;
  epochStep: number;
  epochSteps: number;
  /** The batch's mean loss and the fraction it classified correctly (before the update). */
  loss: number;
  accuracy: number;
  /** Over the last few steps, wall clock, including batch upload and read-back. */
  samplesPerSecond: number;
}

/** How a `train` request ended. */
export interface TrainResult {
  /** 'done': the steps asked for ran; 'paused': pause() stopped it after the step in flight. */
  reason: 'done' | 'paused';
  step: number;
  epoch: number;
}

/** Cross-entropy loss, accuracy and confusion matrix of the first `total` test images. */
export interface Evaluation {
  /** counts[truth * classes + predicted]. */
  counts: Int32Array;
  classes: number;
  total: number;
  accuracy: number;
  /** Mean -ln p(label) (for a cross-entropy model; NaN for an MSE model). */
  loss: number;
}

/** What `train` runs: `steps` steps, or `epochs` epochs' worth of steps; neither = until pause(). */
export interface TrainRequest {
  steps?: number;
  epochs?: number;
}

/** Each op's request fields and the value its answer carries. */
export interface Ops {
  init: { args: Record<string, never>; result: AdapterSummary };
  create: { args: { config: TrainConfig | ModelConfig; tune?: TuneMode }; result: WorkerModel };
  setData: { args: { train?: HostDataset; test?: HostDataset }; result: void };
  train: { args: TrainRequest; result: TrainResult };
  pause: { args: Record<string, never>; result: void };
  evaluate: { args: { count?: number }; result: Evaluation };
  predict: { args: { images: Float32Array; count: number }; result: Float32Array };
  parameter: { args: { name: string }; result: Float32Array };
  saveWeights: {
    args: { metadata?: Record<string, string>; names?: string[] };
    result: Uint8Array;
  };
  loadWeights: { args: { bytes: Uint8Array; source: string }; result: void };
  destroy: { args: Record<string, never>; result: void };
}

export type Op = keyof Ops;

/** Page -> worker. */
export type WorkerRequest = {
  [K in Op]: { id: number; op: K } & Ops[K]['args'];
}[Op];

/** An error as it crosses the boundary: its class name and its message, nothing else. */
export interface WireError {
  name: string;
  message: string;
}

/**
 * Worker -> page. `progress`: a step of a running `train` request; `tuning`: what the autotuner
 * is timing during a `create` request, one line per product; `lost`: the device was lost, and
 * every later request fails with that message.
 */
export type WorkerResponse =
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; error: WireError }
  | { id: number; kind: 'progress'; progress: TrainProgress }
  | { id: number; kind: 'tuning'; line: string }
  | { id: 0; kind: 'lost'; error: WireError };

/** The part of a Worker, a worker's global scope or a MessagePort that the protocol uses. */
export interface MessageEndpoint {
  postMessage(message: unknown, options: { transfer: Transferable[] }): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** An error of any kind as its class name and message. */
export function toWire(e: unknown): WireError {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** The buffers of typed arrays, each once, for a transfer list. */
export function buffersOf(...views: (ArrayBufferView | undefined)[]): Transferable[] {
  const seen = new Set<ArrayBuffer>();
  for (const v of views) if (v && v.buffer instanceof ArrayBuffer) seen.add(v.buffer);
  return [...seen];
}

/** What a result transfers: a typed array's buffer, or an evaluation's counts. */
export function transfersOf(value: unknown): Transferable[] {
  if (ArrayBuffer.isView(value)) return buffersOf(value);
  const counts = (value as { counts?: unknown } | undefined)?.counts;
  return ArrayBuffer.isView(counts) ? buffersOf(counts) : [];
}
