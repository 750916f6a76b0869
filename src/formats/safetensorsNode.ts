/**
 * Node-only checkpoint files: atomic writes and safetensors read/write by path. Browser builds
 * must not import this file (safetensors.ts is the pure half).
 *
 * writeFileAtomic writes a temp file in the same folder, fsyncs it, then renames it over the
 * target (rename is atomic within a file system), so a crash or error midway leaves the old
 * file intact and at worst a stray temp file. We remove it on errors we see; one left by a
 * killed process (a checkpoint's is tens of MB) is removed by the next write of the same target:
 * temp names carry the writer's pid, and a temp file whose process is gone is stale.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ShadergradError } from '../base/errors';
import { readAt, withRegularFile } from '../base/filesNode';
import {
  declaredSafetensorsBytes,
  maxHeaderBytes,
  readSafetensors,
  writeSafetensors,
} from './safetensors';
import type { SafetensorsFile, SafetensorsTensor } from './safetensors';

/** The file operations writeFileAtomic needs; tests swap in failing ones. */
export interface AtomicWriteIo {
  /** Writes all bytes to a new file at `path` and fsyncs it. */
  writeAndSync(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** The names in a folder. */
  readdir(dir: string): Promise<string[]>;
}

export const nodeAtomicWriteIo: AtomicWriteIo = {
  async writeAndSync(path, bytes) {
    const handle = await open(path, 'wx'); // wx: never clobber an existing file
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename,
  unlink,
  readdir: (dir) => readdir(dir),
};

/** Temp files this process is writing now (another write of the same target must keep them). */
const inFlight = new Set<string>();

/** Whether process `pid` exists (EPERM: it does, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temp files of `path` left by a killed writer (or an unlink that failed); removed, best effort. */
async function removeStaleTemps(path: string, io: AtomicWriteIo): Promise<void> {
  const prefix = `.${basename(path)}.`;
  const names = await io.readdir(dirname(path)).catch(() => []);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    // `<pid>-<hex>.tmp`, or `<hex>.tmp` as written before temp names carried the pid.
    const m = /^(?:(\d+)-)?[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = m[1] === undefined ? undefined : Number(m[1]);
    const temp = join(dirname(path), name);
    const ours = pid === process.pid && inFlight.has(temp);
    if (pid === undefined || (!ours && (pid === process.pid || !alive(pid))))
      await io.unlink(temp).catch(() => undefined);
  }
}

/** Replaces `path` with `bytes` atomically (temp file in the same folder + fsync + rename). */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  io: AtomicWriteIo = nodeAtomicWriteIo,
): Promise<void> {
  const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const temp = join(dirname(path), `.${basename(path)}.${id}.tmp`);
  await removeStaleTemps(path, io);
  inFlight.add(temp);
  try {
    await io.writeAndSync(temp, bytes);
    await io.rename(temp, path);
  } catch (e) {
    await io.unlink(temp).catch(() => undefined); // best effort; the target is untouched
    throw new ShadergradError(`${path}: write failed, previous file left intact (${String(e)})`, {
      cause: e,
    });
  } finally {
    inFlight.delete(temp);
  }
}

/** Reads and validates a safetensors file; errors name the path. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  return readSafetensors(await readSafetensorsBytes(path), path);
}

/**
 * A safetensors file's bytes, reading no more than its header declares: a regular file only
 * (see withRegularFile), refused unread when it holds more. `label` starts error messages.
 */
export function readSafetensorsBytes(path: string, label = path): Promise<Uint8Array> {
  return withRegularFile(
    path,
    async (file) => {
      const lengthBytes = await readAt(file, 0, 8);
      const headerBytes =
        lengthBytes.length === 8
          ? Number(new DataView(lengthBytes.buffer).getBigUint64(0, true))
          : 0;
      // A header length past the limit is refused by declaredSafetensorsBytes, unread.
      const prefix = await readAt(file, 0, 8 + (headerBytes > maxHeaderBytes ? 0 : headerBytes));
      const declared = declaredSafetensorsBytes(prefix, label);
      if (file.size > declared)
        throw new ShadergradError(
          `${label}: holds ${file.size} bytes, but its header declares ${declared}`,
        );
      return readAt(file, 0, file.size);
    },
    label,
  );
}

/** Writes tensors (and metadata) to a safetensors file atomically. */
export function writeSafetensorsFile(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  return writeFileAtomic(path, writeSafetensors(tensors, metadata));
}
