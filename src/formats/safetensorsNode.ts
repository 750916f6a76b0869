/**
 * Node-only checkpoint files: atomic writes and safetensors read/write by path. Browser builds
 * must not import this file (safetensors.ts is the pure half).
 *
 * writeFileAtomic writes a temp file in the same folder, fsyncs it, then renames it over the
 * target (rename is atomic within a file system), so a crash or error midway leaves the old
 * file intact and at worst a stray temp file, which we remove on errors we see.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
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
};

/** Replaces `path` with `bytes` atomically (temp file in the same folder + fsync + rename). */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  io: AtomicWriteIo = nodeAtomicWriteIo,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await io.writeAndSync(temp, bytes);
    await io.rename(temp, path);
  } catch (e) {
    await io.unlink(temp).catch(() => undefined); // best effort; the target is untouched
    throw new ShadergradError(`${path}: write failed, previous file left intact (${String(e)})`, {
      cause: e,
    });
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
