/**
 * shadergrad's public API for embedders (Node and the browser). Named exports only, no side
 * effects at import: nothing touches WebGPU until `initDevice()` is called.
 */
export { initDevice, DeviceLostError } from './engine/device';
export type { Gpu, InitOptions, AdapterSummary, AdapterKind } from './engine/device';
export { ShadergradError, KernelError, describeAdapter } from './engine/errors';
export type { GpuTensor, DType } from './engine/tensor';
export { createTensor, uploadTensor, writeTensor, readTensor, readFloat32, BufferPool } from './engine/buffers';
export { runCalls, prepareCall, encodeCall, releaseCall } from './engine/dispatch';
export type { KernelCall, PreparedCall } from './engine/dispatch';
export { kernelFamilies } from './kernels/index';
export type { KernelFamily } from './kernels/index';
export type { Activation } from './kernels/common.cpu';
