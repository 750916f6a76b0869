/**
 * The engine core of the public API: device, tensors, kernels, graph, executor and trainer.
 * Models (src/models) are written against this module only; src/index.ts adds them on top.
 */
export { initDevice, DeviceLostError } from './engine/device';
export type { Gpu, InitOptions, AdapterSummary, AdapterKind } from './engine/device';
export { ShadergradError, KernelError, describeAdapter } from './engine/errors';
export type { GpuTensor, DType } from './engine/tensor';
export {
  createTensor,
  uploadTensor,
  writeTensor,
  readTensor,
  readFloat32,
  BufferPool,
} from './engine/buffers';
export { runCalls, prepareCall, encodeCall, releaseCall } from './engine/dispatch';
export type { KernelCall, PreparedCall } from './engine/dispatch';
export { kernelFamilies } from './kernels/index';
export type { KernelFamily } from './kernels/index';
export { activationCode, type Activation } from './kernels/common.cpu';
export type { OptimizerConfig as KernelOptimizerConfig } from './kernels/index';
export { Graph } from './engine/graph';
export type { GraphNode, OpName, ParamSpec, Conv2dOptions } from './engine/graph';
export { compilePlan, StepPlan } from './engine/executor';
export type { MemoryReport, PlanOptions } from './engine/executor';
export { ParameterStore } from './engine/parameters';
export { Trainer, uploadDataset, seededPermutation, DivergenceError } from './engine/trainer';
export { findFirstNonFinite, firstNonFinite } from './engine/nonFinite';
export type { NonFiniteWrite, CallList } from './engine/nonFinite';
export type { GpuDataset, TrainerOptions, EpochProgress, EpochResult } from './engine/trainer';
export { Snapshots } from './engine/snapshot';
export type { Snapshot, TrainPosition } from './engine/snapshot';
export { DeviceRecovery } from './engine/recovery';
export type { Recovered, RecoveryOptions } from './engine/recovery';
export { OutOfMemoryError, MemoryTracker } from './engine/memory';
export type { MemoryStats } from './engine/memory';
export { planMemory } from './engine/planner';
export type { MatmulVariant } from './kernels/index';
// Kernel wrappers and their CPU twins, one pair per family (what docs/kernels/*.md run).
export * from './kernels/api';
export { timeCalls, profileCalls, median, timestampResolutionNs } from './engine/timing';
export type { TimingResult, KernelProfileRow } from './engine/timing';
