import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  nodeAtomicWriteIo,
  readSafetensorsFile,
  writeFileAtomic,
  writeSafetensorsFile,
} from '../../src/formats/safetensorsNode';
import type { AtomicWriteIo } from '../../src/formats/safetensorsNode';
import { ShadergradError } from '../../src/base/errors';

const dir = mkdtempSync(join(tmpdir(), 'shadergrad-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp file behind', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, new TextEncoder().encode('new contents'));
    expect(readFileSync(path, 'utf8')).toBe('new contents');
    expect(readdirSync(dir)).toEqual(['a.bin']);
  });

  it('keeps the old file intact when the temp write fails midway', async () => {
    const path = join(dir, 'b.bin');
    writeFileSync(path, 'precious old checkpoint');
    let tempPath = '';
    // Writes half the bytes to the temp file for real, then fails like a full disk would.
    const failing: AtomicWriteIo = {
      ...nodeAtomicWriteIo,
      async writeAndSync(temp, bytes) {
        tempPath = temp;
        const handle = await open(temp, 'wx');
        await handle.write(bytes.subarray(0, bytes.length >> 1));
        await handle.close();
        throw new Error('ENOSPC: no space left on device');
      },
    };
    const write = writeFileAtomic(path, new Uint8Array(1000).fill(7), failing);
    await expect(write).rejects.toThrow(ShadergradError);
    await expect(write).rejects.toThrow(
      /b.bin: write failed, previous file left intact \(Error: ENOSPC/,
    );
    expect(readFileSync(path, 'utf8')).toBe('precious old checkpoint');
    expect(tempPath.startsWith(join(dir, '.b.bin.'))).toBe(true); // same folder, so rename is atomic
    expect(existsSync(tempPath)).toBe(false);
  });

  it('keeps the old file intact when the rename fails', async () => {
    const path = join(dir, 'c.bin');
    writeFileSync(path, 'old');
    const failing: AtomicWriteIo = {
      ...nodeAtomicWriteIo,
      rename: () => Promise.reject(new Error('EXDEV')),
    };
    await expect(writeFileAtomic(path, new Uint8Array(4), failing)).rejects.toThrow(
      /c.bin: write failed/,
    );
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((f) => f.includes('c.bin'))).toEqual(['c.bin']);
  });
});

describe('stale temp files', () => {
  it('a write removes the temp files of its target left by dead writers, and nothing else', async () => {
    const folder = mkdtempSync(join(dir, 'stale-'));
    const dead = spawnSync('true').pid; // exited: its temp file is a leftover of a kill
    const names = {
      dead: `.d.bin.${dead}-0123456789ab.tmp`,
      old: '.d.bin.0123456789ab.tmp', // the name before temp files carried the pid
      live: `.d.bin.${process.ppid}-0123456789ab.tmp`, // a writer still running
      other: `.e.bin.${dead}-0123456789ab.tmp`, // another target's
      user: '.d.bin.notes.tmp', // not a name writeFileAtomic makes
    };
    for (const n of Object.values(names)) writeFileSync(join(folder, n), new Uint8Array(64));
    await writeFileAtomic(join(folder, 'd.bin'), new Uint8Array(4));
    expect(readdirSync(folder).sort()).toEqual(
      [names.live, names.other, names.user, 'd.bin'].sort(),
    );
  });
});

describe('safetensors files', () => {
  it('writes and reads back by path', async () => {
    const path = join(dir, 'model.safetensors');
    const w = new Float32Array([1.5, -2, 3e-8]);
    await writeSafetensorsFile(path, { w: { dtype: 'F32', shape: [3], data: w } }, { epoch: '2' });
    const back = await readSafetensorsFile(path);
    expect(back.tensors.w?.data).toEqual(w);
    expect(back.metadata).toEqual({ epoch: '2' });
  });

  it('readSafetensorsFile names a missing path', async () => {
    await expect(readSafetensorsFile('/nonexistent/x.safetensors')).rejects.toThrow(
      /^\/nonexistent\/x.safetensors: cannot read/,
    );
  });
});
