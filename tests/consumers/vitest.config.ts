import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The packed package in fresh projects (npm run test:consumers), kept out of `npm test`: the
// global setup packs and installs once; the files run one after another (Chromium, WebGPU on
// the CPU).
export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['tests/consumers/**/*.test.ts'],
    globalSetup: [resolve(import.meta.dirname, 'globalSetup.ts')],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
