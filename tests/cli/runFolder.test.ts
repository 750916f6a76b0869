/**
 * The --out folder: one that holds a run is refused with one line naming it and the three ways
 * out, unless the run is the one --resume continues or --overwrite replaces it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFilesToReplace, shellWord } from '../../src/cli/runFolder';

const dir = (): string => mkdtempSync(join(tmpdir(), 'shadergrad-out-'));

describe('runFilesToReplace', () => {
  it('lets a run into an empty or missing folder, or one without run files', () => {
    expect(runFilesToReplace({ out: dir(), overwrite: false })).toEqual([]);
    expect(runFilesToReplace({ out: join(dir(), 'new'), overwrite: false })).toEqual([]);
    const other = dir();
    writeFileSync(join(other, 'notes.txt'), 'mine');
    expect(runFilesToReplace({ out: other, overwrite: false })).toEqual([]);
  });

  it('refuses a folder holding a run, naming it and the ways out', () => {
    for (const file of ['checkpoint.safetensors', 'metrics.jsonl', 'model.safetensors']) {
      const out = dir();
      writeFileSync(join(out, file), '');
      expect(() => runFilesToReplace({ out, overwrite: false })).toThrow(
        `--out ${out}: already holds a run (${file}); continue it with --resume ${out}, replace it with --overwrite, or choose another --out`,
      );
    }
  });

  it('lets --resume continue in its own folder and --overwrite replace the run', () => {
    const out = dir();
    writeFileSync(join(out, 'metrics.jsonl'), '');
    writeFileSync(join(out, 'checkpoint.safetensors'), '');
    expect(runFilesToReplace({ out, resume: `${out}/`, overwrite: false })).toEqual([]);
    expect(() => runFilesToReplace({ out, resume: dir(), overwrite: false })).toThrow(
      /already holds a run/,
    );
    expect(runFilesToReplace({ out, overwrite: true }).sort()).toEqual(
      [join(out, 'checkpoint.safetensors'), join(out, 'metrics.jsonl')].sort(),
    );
  });

  it('quotes a folder for the shell only when it must', () => {
    expect(shellWord('runs/latest')).toBe('runs/latest');
    expect(shellWord("my runs/it's")).toBe(`'my runs/it'\\''s'`);
  });
});
