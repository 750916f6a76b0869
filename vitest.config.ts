import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { sourcesPlugin } from './scripts/sourcesPlugin';

// Kernel and engine tests run in Node with WebGPU from Dawn (the `webgpu` package). Each test
// file gets its own process (forks) so one file's device never leaks into another's.
export default defineConfig({
  plugins: [sourcesPlugin()],
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'tests/consumers/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The CLI tunes by default and keeps its choices in the user's cache folder: tests keep
    // theirs in a folder of this run, so they neither read nor write the developer's.
    env: { SHADERGRAD_CACHE_DIR: join(tmpdir(), `shadergrad-test-cache-${process.pid}`) },
  },
});
