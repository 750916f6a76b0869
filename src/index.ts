/**
 * shadergrad's public API for embedders (Node and the browser): devices, graphs and training,
 * models, datasets and file formats. Named exports only, no side effects at import: nothing
 * touches WebGPU until `initDevice()` is called. Two more entries sit beside it:
 * `shadergrad/kernels` (src/kernelApi.ts: single kernels, their CPU twins, tensors, timing) and
 * `shadergrad/node` (src/node.ts: dataset files and atomic writes, Node only).
 */
/// <reference types="@webgpu/types" preserve="true" />
// ---- device and errors
export { initDevice, DeviceLostError } from './gpu/device';
export type { Gpu, InitOptions, AdapterSummary, AdapterKind } from './gpu/device';
export type { AdapterChoice } from './gpu/platform';
export { ShadergradError, KernelError, describeAdapter } from './base/errors';
export { OutOfMemoryError } from './gpu/memory';
export type { MemoryStats } from './gpu/memory';
// ---- graphs, plans and training
export { Graph } from './graph/graph';
export type {
  GraphNode,
  OpName,
  ParamSpec,
  Conv2dOptions,
  BatchNormOptions,
  GradientUse,
} from './graph/graph';
export { compilePlan, StepPlan } from './graph/executor';
export type { MemoryReport, PlanOptions, Precision } from './graph/executor';
export { TUNE_MODES, tuningLines } from './graph/tuneReport';
export type { TuneMode, TuneOptions, TunedProduct, TuningReport } from './graph/tuneReport';
export type { StoredText } from './gpu/platform';
export { planMemory } from './graph/memoryPlanner';
export { ParameterStore } from './graph/parameterStore';
export { referenceForward, referenceTrainStep } from './graph/cpuReference';
export type {
  ReferenceInputs,
  ReferencePrecision,
  ReferenceState,
  ReferenceStepResult,
} from './graph/cpuReference';
export {
  Trainer,
  uploadDataset,
  seededPermutation,
  permutationSeed,
  DivergenceError,
} from './train/trainer';
export type { GpuDataset, TrainerOptions, EpochProgress, EpochResult } from './train/trainer';
export type { Snapshot, TrainPosition } from './train/snapshot';
export { DeviceRecovery } from './train/recovery';
export type { Recovered, RecoveryOptions } from './train/recovery';
// ---- what a model config names: activations, padding, optimizers, matmul variants
export {
  activationCode,
  learningRateAt,
  LR_SCHEDULE_KINDS,
  OPTIMIZER_KINDS,
  optimizerStateNames,
  resolveOptimizerConfig,
  type Activation,
  type AxisPadding,
  type LrSchedule,
  type LrScheduleKind,
  type MatmulVariant,
  type OptimizerConfig,
  type OptimizerKind,
  type Padding,
  type ResolvedOptimizerConfig,
} from './kernels/index';
// ---- models, formats and data
export {
  ACTIVATIONS,
  DATASET_NAMES,
  PRECISIONS,
  LOSSES,
  LAYER_TYPES,
  referenceKnobs,
  cnnKnobsOf,
  referenceCnn,
  defaultOptimizer,
  defaultTrainConfig,
  applyKnobs,
  cnnFromKnobs,
  layerOutputShapes,
  layerParamCounts,
  validateModel,
  describeModel,
  resolveLayers,
  MODEL_INPUT,
} from './models/config';
export { resnetModel, RESNET_DEFAULTS } from './models/resnet';
export type { ResnetKnobs } from './models/resnet';
export { vitModel, VIT_DEFAULTS } from './models/vit';
export { CharGpt, gptGraph, GPT_DEFAULTS } from './models/gpt';
export type { GptConfig, SampleOptions } from './models/gpt';
export { CharVocabulary, splitIds, randomWindows, consecutiveWindows } from './data/text';
export { mulberry32 } from './base/random';
export type { VitKnobs } from './models/vit';
export {
  attention,
  transformerBlock,
  patchEmbedding,
  tokenMean,
  type AttentionOptions,
  type BlockOptions,
} from './models/transformer';
export type {
  LayerSpec,
  LayerType,
  LossKind,
  ModelInput,
  ModelConfig,
  DatasetName,
  TrainConfig,
  CnnKnobs,
  LayerLinks,
  ResolvedLayer,
} from './models/config';
export * from './models/network';
export * from './models/fit';
export { parseTrainConfig } from './models/configJson';
export * from './models/stateDict';
export * from './models/predictor';
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
export type { CreateOptions, SetDataOptions } from './worker/client';
export type {
  Evaluation,
  HostDataset,
  MessageEndpoint,
  TrainProgress,
  TrainRequest,
  TrainResult,
  WorkerModel,
} from './worker/protocol';
