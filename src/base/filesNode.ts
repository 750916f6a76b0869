/**
 * Node-only bounded reads: every file the project reads goes through here. A path must name a
 * regular file after links are followed: a FIFO would block the read forever and /dev/zero
 * never ends, so both are refused before a byte is read. Each read has a cap (what the file's
 * header declares, or a fixed limit), so no input makes memory grow without bound. Browser
 * builds must not import this file.
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ShadergradError } from './errors';
import { causeOf } from './systemErrors';

/** An open regular file; `label` (the path, or flag and path) starts every error message. */
export interface RegularFile {
  readonly handle: FileHandle;
  readonly size: number;
  readonly label: string;
}

/**
 * Opens `path` and runs `use` on it, closing it afterwards. Refuses a path that is not a regular
 * file (a FIFO, a device, a folder) with one line naming it.
 */
export async function withRegularFile<T>(
  path: string,
  use: (file: RegularFile) => Promise<T>,
  label = path,
): Promise<T> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, forever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ShadergradError(`${label}: cannot read the file${reason(e)}`, { cause: e });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new ShadergradError(`${label}: is ${kindOf(stats)}, not a regular file`);
    return await use({ handle, size: stats.size, label });
  } finally {
    await handle.close();
  }
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
export async function readAt(
  file: RegularFile,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  try {
    while (done < length) {
      const { bytesRead } = await file.handle.read(out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
  } catch (e) {
    throw new ShadergradError(`${file.label}: cannot read the file${reason(e)}`, { cause: e });
  }
  return done === length ? out : out.subarray(0, done);
}

/** Reads a whole regular file of at most `maxBytes` bytes; a larger one is refused unread. */
export function readFileCapped(path: string, maxBytes: number, label = path): Promise<Uint8Array> {
  return withRegularFile(
    path,
    (file) => {
      if (file.size > maxBytes)
        throw new ShadergradError(
          `${label}: holds ${file.size} bytes, over the ${maxBytes}-byte limit for this file`,
        );
      return readAt(file, 0, file.size);
    },
    label,
  );
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSocket()) return 'a socket';
  return 'a special file';
}

/** Why a read failed, for the error line: ": no such file or folder (ENOENT)". */
function reason(e: unknown): string {
  return causeOf(e) || ` (${e instanceof Error ? e.message : String(e)})`;
}
