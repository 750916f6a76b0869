/**
 * File-system failures in the user's words: "no space left on the device (ENOSPC)". Node's own
 * messages name the syscall and the path but not what the user can do; every one-line error
 * about a file (reads in src/base/filesNode.ts, the CLI's writes) takes its cause from here.
 */

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
