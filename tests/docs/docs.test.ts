/**
 * The docs run, so they cannot drift from the code. Every ```ts block of README.md, docs/**\/*.md
 * and examples/README.md becomes a module whose line numbers are the Markdown file's; all of them
 * are type-checked with the project's tsconfig, then each is imported here (blocks are
 * self-contained: they import 'shadergrad' and start their own device). A block that throws fails
 * with file:line and what it printed. ```ts nocheck blocks (fragments) are not run; they must
 * still parse. Each example in examples/ runs as a user runs it (vite-node, its own process) at a
 * small size and must exit 0 and print its result.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format, promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { asModule, extractBlocks, isTypeScript, markdownFiles, moduleName } from './blocks';
import type { CodeBlock } from './blocks';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

const sources = ['README.md', 'examples/README.md', ...markdownFiles(root, 'docs')];
const blocks = sources.flatMap((f) =>
  extractBlocks(readFileSync(join(root, f), 'utf8'), f).filter(isTypeScript),
);
const runnable = blocks.filter((b) => !b.flags.includes('nocheck'));
const fragments = blocks.filter((b) => b.flags.includes('nocheck'));
const where = (b: CodeBlock): string => `${b.file}:${b.line}`;

// Inside the repository, so 'shadergrad' resolves to this package (its exports) as in a user's
// project; one folder per run, since several people may run the docs test at once.
const dir = join(root, 'out', `docs-samples-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modulePath = (b: CodeBlock): string => join(dir, moduleName(b));
for (const b of runnable) writeFileSync(modulePath(b), asModule(b));

describe('docs code blocks', () => {
  it('finds the runnable samples of the guide', () => {
    const files = new Set(runnable.map((b) => b.file));
    for (const page of ['docs/executor.md', 'docs/tutorial.md']) expect(files).toContain(page);
  });

  it('type-check against the public API', async () => {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        include: [join(dir, '*.ts'), join(root, 'src/types')],
      }),
    );
    const tsc = join(root, 'node_modules/.bin/tsc');
    const output = await run(tsc, ['-p', join(dir, 'tsconfig.json')], { cwd: root }).then(
      () => '',
      (e: Error & { stdout?: string }) => e.stdout || e.message,
    );
    // "<dir>/docs__tutorial.md.L40.ts(57,3): error ..." -> "docs/tutorial.md:57:3: error ...";
    // errors elsewhere (src/) are the typecheck's business (npm run check), not the docs'.
    const byModule = new Map(runnable.map((b) => [modulePath(b), b.file]));
    const inDocs = output
      .split(/\n(?=\S)/)
      .map((d) => {
        const at = /^(\S+?\.ts)\((\d+),(\d+)\)/.exec(d);
        const md = at?.[1] && byModule.get(resolve(root, at[1]));
        return md && at ? `${md}:${at[2]}:${at[3]}${d.slice(at[0].length)}` : undefined;
      })
      .filter((d) => d !== undefined);
    const failedToRun = output !== '' && !/error TS\d+/.test(output);
    expect(failedToRun ? [output] : inDocs, inDocs.join('\n')).toEqual([]);
  }, 120_000);

  it.each(runnable.map((b) => [where(b), b] as const))(
    '%s runs',
    async (_, b) => {
      await runBlock(b);
    },
    180_000,
  );

  it(`skips ${fragments.length} nocheck fragment(s): ${fragments.map(where).join(', ') || 'none'}; each parses`, () => {
    const errors = fragments.flatMap((b) => syntaxErrors(b));
    expect(errors, errors.join('\n')).toEqual([]);
  });
});

/** Imports the block's module, capturing what it prints; a throw becomes file:line + output. */
async function runBlock(b: CodeBlock): Promise<void> {
  const printed: string[] = [];
  const capture = (...args: unknown[]): void => void printed.push(format(...args));
  const spies = (['log', 'info', 'warn'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation(capture),
  );
  try {
    await import(/* @vite-ignore */ pathToFileURL(modulePath(b)).href);
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    // The module's lines are the Markdown's: the first frame in it is the failing line.
    const frame = new RegExp(`${escapeRegExp(moduleName(b))}:(\\d+)`).exec(error.stack ?? '');
    const line = frame?.[1] ?? String(b.line);
    const output = printed.slice(-20).join('\n');
    throw new Error(
      `${b.file}:${line} (block at line ${b.line}): ${error.name}: ${error.message}\n` +
        `--- the block printed (last 20 lines) ---\n${output}`,
      { cause: e },
    );
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

function syntaxErrors(b: CodeBlock): string[] {
  const out = ts.transpileModule(asModule(b), {
    reportDiagnostics: true,
    fileName: moduleName(b),
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  return (out.diagnostics ?? []).map((d) => {
    const line =
      d.file && d.start !== undefined
        ? d.file.getLineAndCharacterOfPosition(d.start).line + 1
        : b.line;
    return `${b.file}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- examples/: each runs as `npx vite-node examples/<name>.ts -- <small-size flags>`

interface ExampleRun {
  readonly file: string;
  readonly args: readonly string[];
  /** What the example's last lines must say. */
  readonly result: RegExp;
}

const examples: readonly ExampleRun[] = [
  {
    file: 'xor.ts',
    args: ['--steps', '300'],
    result: /^XOR after 300 steps: loss [\d.e-]+, \d of 4 wrong$/m,
  },
  {
    file: 'mlpMnist.ts',
    args: ['--limit', '2048', '--test-limit', '500'],
    result: /^MLP on MNIST: test accuracy \d+\.\d+% \(500 images\)/m,
  },
  {
    file: 'cnnFashion.ts',
    args: ['--limit', '128', '--test-limit', '100', '--batch', '32'],
    result: /^CNN on Fashion-MNIST: test accuracy \d+\.\d+% \(100 images\)/m,
  },
  {
    file: 'charGpt.ts',
    args: [
      '--steps',
      '20',
      '--batch',
      '4',
      '--context',
      '16',
      '--width',
      '16',
      '--layers',
      '1',
      '--tokens',
      '20',
    ],
    result: /^char GPT after 20 steps: train loss \d+\.\d+, validation loss \d+\.\d+/m,
  },
  {
    file: 'pytorchSafetensors.ts',
    args: ['--limit', '64', '--batch', '32'],
    result: /^loaded back: identical predictions on 16 test images/m,
  },
];

describe('examples', () => {
  it('every example has a run here', () => {
    const onDisk = readdirSync(join(root, 'examples')).filter(
      (f) => f.endsWith('.ts') && f !== 'cli.ts',
    );
    expect(onDisk.sort()).toEqual(examples.map((e) => e.file).sort());
  });

  it.each(examples.map((e) => [e.file, e] as const))(
    '%s runs small and prints its result',
    async (_, e) => {
      const out = join(dir, `example-${e.file}`);
      const args = [
        'examples/' + e.file,
        '--',
        ...e.args,
        ...(e.file === 'pytorchSafetensors.ts' ? ['--out', out] : []),
      ];
      const r = await run(join(root, 'node_modules/.bin/vite-node'), args, {
        cwd: root,
        timeout: 150_000,
      }).then(
        (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({
          code: err.code ?? -1,
          stdout: err.stdout ?? '',
          stderr: err.stderr ?? '',
        }),
      );
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(e.result);
    },
    180_000,
  );
});
