/**
 * Builds the pages into out/e2e-pages/<pid> and serves them from http://localhost for
 * every e2e test file (`inject('baseUrl')`); stops the server when the run ends.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT, buildPages, serveStatic } from '../../scripts/chrome';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One folder per run, so two e2e runs at once (say, two files tried by hand) never build
  // into each other's pages.
  const outDir = join(ROOT, 'out/e2e-pages', String(process.pid));
  await buildPages(outDir);
  const server = await serveStatic(outDir);
  project.provide('baseUrl', server.url);
  return async () => {
    await server.close();
    rmSync(outDir, { recursive: true, force: true });
  };
}
