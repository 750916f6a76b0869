/**
 * The engine core of the public API: device, tensors, kernels, graph, executor and trainer.
 * Models (src/models) are written against this module only; src/index.ts adds them on top.
 */
export { initDevice, DeviceLostError } from './gpu/device';
export type { Gpu, InitOptions, AdapterSummary, AdapterKind } from './gpu/device';
export { ShadergradError, KernelError, describeAdapter } from './base/errors';
export { mulberry32, randomFloats, randomInts } from './base/random';
export * from './base/compare';
export type { GpuTensor, DType } from './gpu/tensor';
export {
  createTensor,
  uploadTensor,
  writeTensor,
  readTensor,
  readFloat32,
  BufferPool,
} from './gpu/buffers';
export { runCalls, prepareCall, encodeCall, releaseCall } from './gpu/dispatch';
export type { KernelCall, PreparedCall } from './gpu/dispatch';
export { Graph } from './graph/graph';
export type { GraphNode, OpName, ParamSpec, Conv2dOptions } from './graph/graph';
export { compilePlan, StepPlan } from './graph/executor';
export type { MemoryReport, PlanOptions, Precision } from './graph/executor';
export { TUNE_MODES, tuningLines } from './graph/tuneReport';
export type { TuneMode, TuneOptions, TunedProduct, TuningReport } from './graph/tuneReport';
export { ParameterStore } from './graph/parameterStore';
export {
  Trainer,
  uploadDataset,
  seededPermutation,
  permutationSeed,
  DivergenceError,
} from './train/trainer';
export { findFirstNonFinite, firstNonFinite } from './gpu/nonFinite';
export type { NonFiniteWrite, CallList } from './gpu/nonFinite';
export type { GpuDataset, TrainerOptions, EpochProgress, EpochResult } from './train/trainer';
export {
  compileRetrying,
  evaluateOn,
  predictOn,
  stepPlanOptions,
  type MetricTensors,
} from './train/forward';
export { Snapshots } from './train/snapshot';
export type { Snapshot, TrainPosition } from './train/snapshot';
export { DeviceRecovery } from './train/recovery';
export type { Recovered, RecoveryOptions } from './train/recovery';
export { OutOfMemoryError, MemoryTracker } from './gpu/memory';
export type { MemoryStats } from './gpu/memory';
export { planMemory } from './graph/memoryPlanner';
export { referenceForward, referenceTrainStep } from './graph/cpuReference';
export type {
  ReferenceInputs,
  ReferencePrecision,
  ReferenceState,
  ReferenceStepResult,
} from './graph/cpuReference';
// Kernel wrappers and their CPU twins, one pair per family (what docs/kernels/*.md run).
export * from './kernels/index';
export { timeCalls, profileCalls, median, timestampResolutionNs } from './gpu/timing';
export type { TimingResult, KernelProfileRow } from './gpu/timing';
