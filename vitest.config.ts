import { defineConfig } from 'vitest/config';

// Kernel and engine tests run in Node with WebGPU from Dawn (the `webgpu` package). Each test
// file gets its own process (forks) so one file's device never leaks into another's.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
