/**
 * File-system failures as the CLI reports them: one line naming the flag, the path and the cause
 * in words ("--out runs/x: no space left on the device (ENOSPC)"), never a stack trace. Node's
 * own messages name the syscall and the path but not the flag the user gave, and a stack trace
 * would suggest a bug where the disk or a permission is at fault.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ShadergradError } from '../core';
import { describeSystemError, systemErrorIn } from '../base/systemErrors';
import { nodeAtomicWriteIo, writeFileAtomic, type AtomicWriteIo } from '../formats/safetensorsNode';

/**
 * A path as an error line shows it: whole up to 200 characters, else its start and its end (the
 * file name) around "...", so a pasted or generated path of thousands of characters cannot make
 * the one line a page.
 */
export function shownPath(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}...${path.slice(-80)}`;
}

/**
 * Runs a file operation for `flag` on `path`; a file-system failure becomes one line
 * "<flag> <path>: <what><cause>". Other errors pass unchanged.
 */
export async function onDisk<T>(
  flag: string,
  path: string,
  op: () => Promise<T>,
  what = '',
): Promise<T> {
  try {
    return await op();
  } catch (e) {
    const sys = systemErrorIn(e);
    if (!sys) throw e;
    throw new ShadergradError(`${flag} ${shownPath(path)}: ${what}${describeSystemError(sys)}`, {
      cause: e,
    });
  }
}

/** writeFileAtomic into the --out folder; a failure names the flag, the file and the cause. */
export function writeOut(
  path: string,
  bytes: Uint8Array,
  io: AtomicWriteIo = nodeAtomicWriteIo,
): Promise<void> {
  return onDisk(
    '--out',
    path,
    () => writeFileAtomic(path, bytes, io),
    'not written, the previous file is intact: ',
  );
}

/**
 * The one line the CLI prints for an error the user can act on: a ShadergradError's message, or
 * a file-system failure no flag's handling caught (its path and cause). Undefined for anything
 * else: that is a bug, and main prints its stack trace.
 */
export function errorLine(e: unknown): string | undefined {
  if (e instanceof ShadergradError) return e.message;
  const sys = systemErrorIn(e);
  if (!sys) return undefined;
  return `${sys.path ?? `${sys.syscall ?? 'a file operation'} failed`}: ${describeSystemError(sys)}`;
}

/** Name of the probe file written (and removed) to show that a folder takes files. */
export const PROBE_FILE = '.shadergrad-write-probe';

/**
 * Creates the output folder (with its parents) and proves it writable by writing a probe file the
 * way checkpoints are written (temp file, fsync, rename) and removing it: a folder that cannot
 * take a checkpoint fails here, before step 1, and not after an epoch of training.
 */
export async function prepareOutDir(flag: string, dir: string): Promise<void> {
  await onDisk(flag, dir, async () => {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, PROBE_FILE);
    await writeFileAtomic(probe, new Uint8Array([0x0a]));
    await unlink(probe);
  });
}
