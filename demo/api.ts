/** Everything the demo pages use from shadergrad: the public entries, src/index.ts and src/kernelApi.ts. */
export * from '../src/index';
export * from '../src/kernelApi';
