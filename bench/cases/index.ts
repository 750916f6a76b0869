/**
 * The kernel cases (./kernelCase) of every family group, for the Node kernel benchmark, the
 * Chrome bench page and the kernel explorer. Named re-exports only.
 */
export * from './kernelCase';
export * from './matmul';
export * from './peaks';
export * from './conv';
export * from './pool';
export * from './losses';
export * from './elementwise';
export * from './transformer';
export * from './language';
