/**
 * Builds the demo and bench pages into out/e2e-pages and serves them from http://localhost for
 * every e2e test file (`inject('baseUrl')`); stops the server when the run ends.
 */
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT, buildPages, serveStatic } from '../../scripts/chrome';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = join(ROOT, 'out/e2e-pages');
  await buildPages(outDir);
  const server = await serveStatic(outDir);
  project.provide('baseUrl', server.url);
  return () => server.close();
}
