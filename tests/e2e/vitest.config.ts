import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { sourcesPlugin } from '../../scripts/sourcesPlugin';

// End-to-end tests of every page in headless Chromium (npm run test:e2e), kept out of
// `npm test`. The global setup builds the pages once and serves the build from localhost; the
// files run one after another, since each drives a browser doing WebGPU on the CPU.
export default defineConfig({
  plugins: [sourcesPlugin()],
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['tests/e2e/**/*.test.ts'],
    globalSetup: [resolve(import.meta.dirname, 'globalSetup.ts')],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
