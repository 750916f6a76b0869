/**
 * `shadergrad/kernels`: the kernel-level API, for running and studying single kernels (the docs'
 * kernel pages, the kernel explorer, coursework, benchmarks). Per family the wrapper (args ->
 * KernelCall) and its CPU twin (the specification), the geometry their args need, the registry,
 * GPU tensors, running and timing calls, and the tolerance comparison and seeded generator the
 * tests use. Training and models live in the main entry, `shadergrad`. Named re-exports only.
 */
export * from './kernels/index';
export type { GpuTensor, DType } from './gpu/tensor';
export { createTensor, uploadTensor, writeTensor, readTensor, readFloat32 } from './gpu/buffers';
export { runCalls } from './gpu/dispatch';
export type { KernelCall } from './gpu/dispatch';
export { timeCalls, profileCalls, median, timestampResolutionNs } from './gpu/timing';
export type { TimingResult, KernelProfileRow } from './gpu/timing';
export * from './base/compare';
export { mulberry32, randomFloats, randomInts } from './base/random';
export { f16Bits, f16Value, fromF16, roundToF16, toF16 } from './base/f16';
