/**
 * The CLI's file-system failures in the user's terms: one line naming the flag, the path and the
 * cause. The disk-full cases use /dev/full, which fails every write with a real ENOSPC.
 */
import { appendFile, mkdir, open, writeFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShadergradError } from '../../src/base/errors';
import { configOf } from '../../src/cli/common';
import { errorLine, onDisk, prepareOutDir, shownPath, writeOut } from '../../src/cli/files';
import { nodeAtomicWriteIo, type AtomicWriteIo } from '../../src/formats/safetensorsNode';
import { writeSafetensors } from '../../src/formats/safetensors';
import { defaultTrainConfig } from '../../src/models/config';
import { configMetadata } from '../../src/models/stateDict';

const dir = (): string => mkdtempSync(join(tmpdir(), 'shadergrad-files-'));

/** The one line an operation fails with (a ShadergradError, nothing else). */
async function failure(op: () => Promise<unknown>): Promise<string> {
  try {
    await op();
  } catch (e) {
    expect(e).toBeInstanceOf(ShadergradError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a failure');
}

describe('--out before step 1', () => {
  it('creates the folder with its parents and leaves no probe file', async () => {
    const out = join(dir(), 'a', 'b');
    await prepareOutDir('--out', out);
    expect(readdirSync(out)).toEqual([]);
  });

  it('refuses a file in the way, and a path through a file, in one line', async () => {
    const file = join(dir(), 'taken');
    writeFileSync(file, 'x');
    expect(await failure(() => prepareOutDir('--out', file))).toBe(
      `--out ${file}: a file is in the way (expected a folder) (EEXIST)`,
    );
    expect(await failure(() => prepareOutDir('--out', join(file, 'run')))).toBe(
      `--out ${join(file, 'run')}: a part of the path is a file, not a folder (ENOTDIR)`,
    );
  });

  it('leaves errors that are not the file system as they are', async () => {
    const bug = new TypeError('a bug');
    await expect(onDisk('--out', 'x', () => Promise.reject(bug))).rejects.toBe(bug);
  });
});

describe('causes in words', () => {
  it('names permission, read-only and missing places with their codes', async () => {
    const cases: [string, string][] = [
      ['EACCES', 'permission denied (EACCES)'],
      ['EROFS', 'read-only file system (EROFS)'],
      ['ENOENT', 'no such file or folder (ENOENT)'],
      ['EWEIRD', 'EWEIRD: odd (EWEIRD)'],
    ];
    for (const [code, cause] of cases) {
      const e = Object.assign(new Error(`${code}: odd`), { code });
      expect(await failure(() => onDisk('--out', '/ro/run', () => Promise.reject(e)))).toBe(
        `--out /ro/run: ${cause}`,
      );
    }
  });
});

describe('a full disk', () => {
  it('while metrics.jsonl is appended: one line naming --out, the file and ENOSPC', async () => {
    expect(
      await failure(() => onDisk('--out', '/dev/full', () => appendFile('/dev/full', '{}\n'))),
    ).toBe('--out /dev/full: no space left on the device (ENOSPC)');
  });

  it('during a checkpoint write: one line, the previous checkpoint intact and loadable, no temp file', async () => {
    const out = dir();
    const path = join(out, 'checkpoint.safetensors');
    const config = defaultTrainConfig();
    const w = new Float32Array([1, 2, 3]);
    const old = writeSafetensors(
      { w: { dtype: 'F32', shape: [3], data: w } },
      configMetadata(config),
    );
    await writeOut(path, old);
    // The disk fills halfway through the temp file: part of it is on disk, then a real ENOSPC.
    const full: AtomicWriteIo = {
      ...nodeAtomicWriteIo,
      async writeAndSync(temp, bytes) {
        const handle = await open(temp, 'wx');
        await handle.writeFile(bytes.subarray(0, bytes.length >> 1));
        await handle.close();
        await writeFile('/dev/full', bytes);
      },
    };
    const newer = writeSafetensors(
      { w: { dtype: 'F32', shape: [3], data: new Float32Array([4, 5, 6]) } },
      configMetadata({ ...config, epochs: 9 }),
    );
    expect(await failure(() => writeOut(path, newer, full))).toBe(
      `--out ${path}: not written, the previous file is intact: no space left on the device (ENOSPC)`,
    );
    expect(readdirSync(out)).toEqual(['checkpoint.safetensors']);
    const bytes = new Uint8Array(readFileSync(path));
    expect(bytes).toEqual(old);
    expect(configOf(bytes, path)).toEqual(config);
  });
});

describe("the CLI's last resort", () => {
  it('prints a file-system failure no flag caught as its path and cause, and a bug as a stack', async () => {
    const e = await appendFile('/dev/full', 'x').catch((err: unknown) => err);
    expect(errorLine(e)).toBe('write failed: no space left on the device (ENOSPC)');
    const notDir = await mkdir('/dev/full/run').catch((err: unknown) => err);
    expect(errorLine(notDir)).toBe(
      '/dev/full/run: a part of the path is a file, not a folder (ENOTDIR)',
    );
    expect(errorLine(new ShadergradError('--batch: expected a number'))).toBe(
      '--batch: expected a number',
    );
    expect(errorLine(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('long paths in error lines', () => {
  it('keep the start and the file name of a path past 200 characters', async () => {
    const long = `/tmp/${'x'.repeat(5000)}/checkpoint.safetensors`;
    expect(shownPath('/tmp/run/model.safetensors')).toBe('/tmp/run/model.safetensors');
    expect(shownPath(long)).toHaveLength(183);
    expect(shownPath(long).endsWith('x/checkpoint.safetensors')).toBe(true);
    const failing = onDisk('--resume', long, () => open(long));
    await expect(failing).rejects.toThrow(/^--resume \/tmp\/x+\.\.\.x+\/checkpoint\.safetensors: /);
    const message = await failing.then(
      () => '',
      (e: unknown) => (e as Error).message,
    );
    expect(message.length).toBeLessThan(300);
  });
});
