/**
 * shadergrad's public API for embedders (Node and the browser): the engine core (src/core.ts)
 * plus models, datasets and checkpoints. Named exports only, no side effects at import: nothing
 * touches WebGPU until `initDevice()` is called. Node-only helpers (file loading) live in
 * src/node.ts so browser bundles never see node: modules.
 */
/// <reference types="@webgpu/types" preserve="true" />
export * from './core';
export * from './models/config';
export * from './models/network';
export * from './models/fit';
export { parseTrainConfig } from './models/configJson';
export * from './models/stateDict';
export { readSafetensors, writeSafetensors, checkStateDict } from './formats/safetensors';
export type { SafetensorsFile, SafetensorsTensor, SafetensorsDtype } from './formats/safetensors';
export { encodeGrayPng, filterGrid } from './formats/png';
export { parseIdx, encodeIdx, isGzip, gunzipStream } from './data/idx';
export {
  datasetFromIdx,
  limitDataset,
  parseFashionClassJson,
  fashionSplit,
  fashionClassNames,
} from './data/datasets';
export type { Dataset, DatasetSplit } from './data/datasets';
export { toy2d, toy2dKinds, mseTargets } from './data/toy2d';
export type { Toy2d, Toy2dKind, Toy2dOptions } from './data/toy2d';
export { serveTrainer } from './worker/serve';
export type { ServeOptions } from './worker/serve';
export { TrainerWorker, WorkerError } from './worker/client';
export type { SetDataOptions } from './worker/client';
export type {
  Evaluation,
  HostDataset,
  MessageEndpoint,
  TrainProgress,
  TrainRequest,
  TrainResult,
  WorkerModel,
} from './worker/protocol';
