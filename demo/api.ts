/** Everything the demo uses from shadergrad: the public API, src/index.ts. */
export * from '../src/index';
