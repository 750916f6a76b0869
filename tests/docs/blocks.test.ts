// The docs test's Markdown reader: which blocks it finds, where, and what it refuses.
import { describe, expect, it } from 'vitest';
import { asModule, extractBlocks, isTypeScript, moduleName } from './blocks';

const md = (...lines: string[]): string => lines.join('\n');

describe('extractBlocks', () => {
  it('finds fenced blocks with their line, language, flags and code', () => {
    const blocks = extractBlocks(
      md('# t', '', '```ts', 'const a = 1;', '```', 'text', '```ts nocheck', 'f(', '```'),
      'x.md',
    );
    expect(blocks).toEqual([
      { file: 'x.md', line: 3, lang: 'ts', flags: [], code: 'const a = 1;\n' },
      { file: 'x.md', line: 7, lang: 'ts', flags: ['nocheck'], code: 'f(\n' },
    ]);
  });

  it('does not run a ts block shown inside a longer fence, and reads ~~~ fences', () => {
    const blocks = extractBlocks(
      md('````md', '```ts', 'shown();', '```', '````', '~~~typescript', 'run();', '~~~'),
      'x.md',
    );
    expect(blocks.map((b) => [b.line, b.lang])).toEqual([
      [1, 'md'],
      [6, 'typescript'],
    ]);
    expect(blocks.filter(isTypeScript).map((b) => b.code)).toEqual(['run();\n']);
  });

  it("removes an indented fence's indent from its lines (a block in a list)", () => {
    const [block] = extractBlocks(
      md('- item', '  ```ts', '  if (x) {', '    y();', '  }', '  ```'),
      'x.md',
    );
    expect(block?.code).toBe('if (x) {\n  y();\n}\n');
  });

  it('ignores inline code that starts a line, and refuses an unclosed fence with its line', () => {
    expect(extractBlocks(md('```ts` inline', 'text'), 'x.md')).toEqual([]);
    expect(() => extractBlocks(md('a', '```ts', 'code', '``'), 'docs/y.md')).toThrow(
      'docs/y.md:2: code fence ``` is never closed',
    );
  });
});

describe('asModule', () => {
  it("puts the block's first line on the line after its fence", () => {
    const [block] = extractBlocks(md('a', 'b', '```ts', 'first();', 'second();', '```'), 'd/x.md');
    if (!block) throw new Error('no block');
    const lines = asModule(block).split('\n');
    expect(lines[3]).toBe('first();'); // line 4 of the Markdown, index 3
    expect(lines[4]).toBe('second();');
    expect(moduleName(block)).toBe('d__x.md.L3.ts');
  });
});
