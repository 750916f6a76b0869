/**
 * Fenced code blocks of Markdown files, for the docs test: every ```ts block of the docs runs, so
 * the docs cannot drift from the code. Follows CommonMark's fence rules where they matter here:
 * ``` or ~~~ (3 or more), up to 3 spaces of indent, closed by the same character at least as
 * long (so a ````md block can show a ```ts block without it running), the fence's indent
 * removed from its lines. An unclosed fence is an error here, not "to the end of the file".
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface CodeBlock {
  /** Repository-relative path of the Markdown file. */
  readonly file: string;
  /** 1-based line of the opening fence; the code starts on the next line. */
  readonly line: number;
  /** The info string's first word, e.g. 'ts'. */
  readonly lang: string;
  /** The info string's other words, e.g. ['nocheck']. */
  readonly flags: readonly string[];
  readonly code: string;
}

const OPEN = /^( {0,3})(`{3,}|~{3,})\s*(.*)$/;

/** Every fenced block of `markdown` (named `file` in errors), in order. */
export function extractBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    // A backtick fence's info string may not contain backticks (CommonMark): `x` is inline code.
    if (fence.startsWith('`') && info.includes('`')) continue;
    const end = closingLine(lines, i + 1, fence);
    if (end < 0) throw new Error(`${file}:${i + 1}: code fence ${fence} is never closed`);
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const body = lines.slice(i + 1, end).map((l) => stripIndent(l, indent.length));
    blocks.push({ file, line: i + 1, lang, flags, code: `${body.join('\n')}\n` });
    i = end;
  }
  return blocks;
}

function closingLine(lines: readonly string[], from: number, fence: string): number {
  const char = fence.charAt(0) === '`' ? '`' : '~';
  const close = new RegExp(`^ {0,3}\\${char}{${fence.length},}\\s*$`);
  for (let j = from; j < lines.length; j++) if (close.test(lines[j] ?? '')) return j;
  return -1;
}

function stripIndent(line: string, n: number): string {
  let k = 0;
  while (k < n && line[k] === ' ') k++;
  return line.slice(k);
}

/** TypeScript blocks: ```ts or ```typescript, with or without flags. */
export function isTypeScript(b: CodeBlock): boolean {
  return b.lang === 'ts' || b.lang === 'typescript';
}

/** Markdown files under `dir` (recursively), as paths relative to `root`, sorted. */
export function markdownFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) out.push(relative(root, path));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

/**
 * The block as a module whose line numbers are the Markdown file's: blank lines up to the fence,
 * so a stack trace or a compiler error in the module points at the line in the docs.
 */
export function asModule(b: CodeBlock): string {
  return '\n'.repeat(b.line) + b.code;
}

/** A file name for the block's module: docs/kernels/bias.md:109 -> docs__kernels__bias.md.L109.ts */
export function moduleName(b: CodeBlock): string {
  return `${b.file.replace(/[\\/]/g, '__')}.L${b.line}.ts`;
}
