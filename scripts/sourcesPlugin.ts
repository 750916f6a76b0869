/**
 * Inside this repository the package's own specifiers resolve to its sources, since lib/ (what
 * package.json's "exports" and "imports" point at) is built only for packing:
 * - `shadergrad`, `shadergrad/kernels` and `shadergrad/node` (the docs' blocks and the examples
 *   import them as a user does) -> src/index.ts, src/kernelApi.ts and src/node.ts;
 * - `#gpu-platform` -> src/gpu/platform.node.ts for code Vite runs in Node (vite-node, vitest:
 *   SSR) and src/gpu/platform.browser.ts for the pages. Users of the package get the same choice
 *   from the "node" and "default" conditions of package.json.
 * tsconfig.json's "paths" says the same to the type checker.
 */
import { resolve } from 'node:path';
import type { Plugin } from 'vite';

const srcDir = resolve(import.meta.dirname, '../src');
const entries: Record<string, string> = {
  shadergrad: resolve(srcDir, 'index.ts'),
  'shadergrad/kernels': resolve(srcDir, 'kernelApi.ts'),
  'shadergrad/node': resolve(srcDir, 'node.ts'),
};

export function sourcesPlugin(): Plugin {
  return {
    name: 'shadergrad-sources',
    enforce: 'pre',
    resolveId(id, _importer, options) {
      if (id === '#gpu-platform')
        return resolve(srcDir, 'gpu', options.ssr ? 'platform.node.ts' : 'platform.browser.ts');
      return entries[id];
    },
  };
}
