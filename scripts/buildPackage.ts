/**
 * Builds the npm package into lib/: what `npm pack` ships and what users import.
 *
 * 1. tsc (tsconfig.build.json) compiles src/ to one .js and one .d.ts per module, doc comments
 *    kept, so bundlers can drop what an app never imports (package.json has sideEffects: false).
 * 2. Each shaders/<family>.wgsl becomes lib/shaders/<family>.wgsl.js, a module whose default export
 *    is the WGSL text without its comments (line numbers kept, so a compile error points at the
 *    same line of the repository's shader): the `?raw` imports that only Vite understands are
 *    rewritten to it.
 * 3. Relative specifiers get their file extension (`./core` -> `./core.js`, a folder ->
 *    `./folder/index.js`), as Node's ESM loader and TypeScript's node16/nodenext resolution need.
 *
 *   npm run build:package    (then `npm pack` packs lib/ with README, LICENSE and CHANGELOG)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const srcDir = join(root, 'src');
const shaderDir = join(root, 'shaders');
const libDir = join(root, 'lib');

/** Every file below `dir` whose name ends with one of `endings`. */
function filesBelow(dir: string, endings: readonly string[]): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => endings.some((e) => f.endsWith(e)) && statSync(f).isFile());
}

/**
 * WGSL without its `//` comments and trailing blanks, each line where it was. The comments (each
 * kernel's header explains it: read them in the repository) are 43% of the shaders' text and 31
 * of their 49 kB gzipped, which a web app would download; WGSL has no string literals and our
 * shaders no block comments, so every `//` starts a comment.
 */
function shippedWgsl(source: string): string {
  if (source.includes('/*')) throw new Error('buildPackage: a block comment in a shader');
  return source
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').trimEnd())
    .join('\n');
}

/**
 * lib/shaders/<name>.wgsl.js for every shader: the WGSL text (shippedWgsl) as a default export. No
 * .d.ts: only the kernels' .js import them, and no public type mentions a shader.
 */
function emitShaders(): void {
  mkdirSync(join(libDir, 'shaders'), { recursive: true });
  for (const file of filesBelow(shaderDir, ['.wgsl'])) {
    const target = join(libDir, 'shaders', `${relative(shaderDir, file)}.js`);
    const text = shippedWgsl(readFileSync(file, 'utf8'));
    writeFileSync(target, `export default ${JSON.stringify(text)};\n`);
  }
}

/** Where a specifier written in src/ points once built, or undefined when it stays as it is. */
function builtTarget(sourceFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const path = resolve(dirname(sourceFile), specifier.replace(/\?raw$/, ''));
  if (path.startsWith(shaderDir + sep))
    return join(libDir, 'shaders', `${relative(shaderDir, path)}.js`);
  if (!path.startsWith(srcDir + sep)) throw new Error(`${sourceFile}: ${specifier} leaves src/`);
  const inLib = join(libDir, relative(srcDir, path));
  if (existsSync(`${path}.ts`)) return `${inLib}.js`;
  if (existsSync(join(path, 'index.ts'))) return join(inLib, 'index.js');
  throw new Error(`${sourceFile}: cannot resolve ${specifier}`);
}

/** Specifiers of the built modules that Node and every bundler resolve. */
function rewriteSpecifiers(libFile: string): void {
  const isTypes = libFile.endsWith('.d.ts');
  const sourceFile = join(srcDir, relative(libDir, libFile)).replace(/\.(d\.ts|js)$/, '.ts');
  const text = readFileSync(libFile, 'utf8');
  const rewritten = text.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g,
    (match, lead: string, quote: string, specifier: string) => {
      // Types of wgsl_reflect: the package's own entry carries them (src/types maps the path).
      if (isTypes && specifier === 'wgsl_reflect/wgsl_reflect.module.js')
        return `${lead}${quote}wgsl_reflect${quote}`;
      const target = builtTarget(sourceFile, specifier);
      if (target === undefined) return match;
      let rel = relative(dirname(libFile), target).split(sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `${lead}${quote}${rel}${quote}`;
    },
  );
  if (rewritten !== text) writeFileSync(libFile, rewritten);
}

function main(): void {
  rmSync(libDir, { recursive: true, force: true });
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  emitShaders();
  const built = filesBelow(libDir, ['.js', '.d.ts']).filter(
    (f) => !f.includes(`${sep}shaders${sep}`),
  );
  for (const file of built) rewriteSpecifiers(file);
  const shaders = readdirSync(join(libDir, 'shaders')).length;
  console.log(`lib/: ${built.length / 2} modules with their types, ${shaders} shaders`);
}

main();
