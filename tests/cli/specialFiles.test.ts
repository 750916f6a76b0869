// The CLI given a FIFO or a link to /dev/zero: one line naming the file, exit 1, at once (a FIFO
// used to hang it forever; /dev/zero grew its memory without bound).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/child';

const tmp = mkdtempSync(join(tmpdir(), 'shadergrad-special-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fifo = join(tmp, 'model.safetensors');
execFileSync('mkfifo', [fifo]);
const zeros = join(tmp, 'zeros.safetensors');
symlinkSync('/dev/zero', zeros);

describe('special files on the command line', () => {
  it.each([
    [['--eval', fifo], `--eval ${fifo}: is a FIFO (named pipe), not a regular file`],
    [['--eval', zeros], `--eval ${zeros}: is a character device, not a regular file`],
    [['--config', fifo], `--config ${fifo}: is a FIFO (named pipe), not a regular file`],
  ])(
    '%j exits 1 with one line',
    async (args, message) => {
      // Killed after 30 s: the hang this guards against would otherwise stall the suite.
      const r = await startCli(args, { timeoutMs: 30_000 }).finished;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`shadergrad: ${message}`);
    },
    40_000,
  );
});
