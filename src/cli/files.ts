/**
 * File-system failures as the CLI reports them: one line naming the flag, the path and the cause
 * in words ("--out runs/x: no space left on the device (ENOSPC)"), never a stack trace. Node's
 * own messages name the syscall and the path but not the flag the user gave, and a stack trace
 * would suggest a bug where the disk or a permission is at fault.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ShadergradError } from '../core';
import { nodeAtomicWriteIo, writeFileAtomic, type AtomicWriteIo } from '../formats/safetensorsNode';

/** A Node system error (fs, child_process): it carries an errno code such as 'ENOSPC'. */
export interface SystemError extends Error {
  code: string;
  path?: string;
  syscall?: string;
}

/** Causes in the user's words, by errno code; others show Node's message. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EEXIST: 'a file is in the way (expected a folder)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  ENOENT: 'no such file or folder',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

/** The cause of a file-system failure in words, with its code: "permission denied (EACCES)". */
export function describeSystemError(e: SystemError): string {
  const cause = CAUSES[e.code] ?? e.message.split('\n')[0] ?? e.code;
  return `${cause} (${e.code})`;
}

/** ": <cause>" for a message, when `e` is (or wraps) a file-system failure; else "". */
export function causeOf(e: unknown): string {
  const sys = systemErrorIn(e);
  return sys ? `: ${describeSystemError(sys)}` : '';
}

/** The system error behind `e`, if any (itself, or its `cause` chain, e.g. writeFileAtomic's). */
export function systemErrorIn(e: unknown): SystemError | undefined {
  for (let at = e, depth = 0; at !== undefined && depth < 8; depth++) {
    if (isSystemError(at)) return at;
    at = at instanceof Error ? at.cause : undefined;
  }
  return undefined;
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
    throw new ShadergradError(`${flag} ${path}: ${what}${describeSystemError(sys)}`, { cause: e });
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
