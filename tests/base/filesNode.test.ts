/**
 * Bounded reads (src/base/filesNode.ts and its users): special files are refused at once with one
 * line naming the path, and no input makes a read grow past what its header declares.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileCapped } from '../../src/base/filesNode';
import { readIdxFile } from '../../src/data/datasetsNode';
import { encodeIdx } from '../../src/data/idx';
import { readSafetensorsBytes } from '../../src/formats/safetensorsNode';
import { writeSafetensors } from '../../src/formats/safetensors';

const tmp = mkdtempSync(join(tmpdir(), 'shadergrad-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fifo = join(tmp, 'pipe');
execFileSync('mkfifo', [fifo]);
const zeros = join(tmp, 'zeros');
symlinkSync('/dev/zero', zeros);

/** The one-line message of the ShadergradError `read` rejects with. */
async function refusal(read: Promise<unknown>): Promise<string> {
  const e = await read.then(
    () => new Error('no error'),
    (err: unknown) => err,
  );
  expect((e as Error).name).toBe('ShadergradError');
  const message = (e as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('special files are refused before any read', () => {
  // A short timeout: before the fix, opening the FIFO waited for a writer forever.
  it('a FIFO, as IDX data, safetensors and config', { timeout: 5000 }, async () => {
    expect(await refusal(readIdxFile(fifo))).toBe(
      `${fifo}: is a FIFO (named pipe), not a regular file`,
    );
    expect(await refusal(readSafetensorsBytes(fifo, `--eval ${fifo}`))).toBe(
      `--eval ${fifo}: is a FIFO (named pipe), not a regular file`,
    );
    expect(await refusal(readFileCapped(fifo, 1024, `--config ${fifo}`))).toMatch(/FIFO/);
  });

  it('a link to /dev/zero, and a folder', { timeout: 5000 }, async () => {
    expect(await refusal(readIdxFile(zeros))).toBe(
      `${zeros}: is a character device, not a regular file`,
    );
    expect(await refusal(readSafetensorsBytes(zeros))).toMatch(/character device/);
    expect(await refusal(readIdxFile(tmp))).toBe(`${tmp}: is a folder, not a regular file`);
  });

  it('a missing file says so, with its code', async () => {
    const missing = join(tmp, 'missing');
    expect(await refusal(readFileCapped(missing, 10, `--config ${missing}`))).toBe(
      `--config ${missing}: cannot read the file: no such file or folder (ENOENT)`,
    );
  });
});

describe('reads are capped by what the file declares', () => {
  it('a gzip bomb stops at its declared size, with bounded memory', async () => {
    // Declares 16 bytes, inflates to 256 MiB (256 KiB on disk).
    const header = encodeIdx([16], new Uint8Array(16));
    const bomb = join(tmp, 'bomb-idx1-ubyte.gz');
    const body = new Uint8Array(256 * 2 ** 20);
    body.set(header);
    writeFileSync(bomb, gzipSync(body, { level: 1 }));
    const before = process.memoryUsage().rss;
    expect(await refusal(readIdxFile(bomb))).toBe(
      `${bomb}: decompresses to more than the 24 bytes its IDX header declares`,
    );
    // Bound: 100 MB; the bomb inflated whole would take 256 MiB on top.
    expect(process.memoryUsage().rss - before).toBeLessThan(100e6);
  });

  it('an IDX file longer than its header declares is refused unread', async () => {
    const path = join(tmp, 'long-idx1-ubyte');
    writeFileSync(path, new Uint8Array([...encodeIdx([2], new Uint8Array([1, 2])), 9, 9, 9]));
    expect(await refusal(readIdxFile(path))).toBe(
      `${path}: declares 2 (2 data bytes) but holds 5 (3 trailing bytes)`,
    );
  });

  it('a safetensors file longer than its header declares is refused unread', async () => {
    const good = writeSafetensors({
      w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    });
    const path = join(tmp, 'long.safetensors');
    writeFileSync(path, new Uint8Array([...good, 0, 0, 0, 0]));
    expect(await refusal(readSafetensorsBytes(path, `--init ${path}`))).toBe(
      `--init ${path}: holds ${good.length + 4} bytes, but its header declares ${good.length}`,
    );
    writeFileSync(path, good);
    expect(await readSafetensorsBytes(path)).toEqual(good);
  });

  it('a config past its fixed cap is refused unread', async () => {
    const path = join(tmp, 'big.json');
    writeFileSync(path, ' '.repeat(2000));
    expect(await refusal(readFileCapped(path, 1000, `--config ${path}`))).toBe(
      `--config ${path}: holds 2000 bytes, over the 1000-byte limit for this file`,
    );
  });
});
