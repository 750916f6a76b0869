/**
 * Node only (imported by platform.node.ts): runs a synchronous native call with file descriptor 2
 * pointed at /dev/null, so warnings that Dawn prints straight to fd 2 do not reach the host
 * app's stderr.
 *
 * Why: while it enumerates adapters, Dawn clamps two Vulkan limits and prints
 * "Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially reduced from ..."
 * with fprintf, inside `requestAdapter()` and before any limit is requested; no Dawn option,
 * toggle or callback turns it off. Node has no dup2, but POSIX open() returns the lowest free
 * descriptor: after close(2), opening /dev/null yields 2, and reopening /proc/self/fd/<copy>
 * afterwards yields the original stream as 2 again. No JavaScript runs in between.
 *
 * Only where that is exact: Linux, and stderr a terminal or a pipe. A regular file is left alone
 * (a second open file description would not share the offset of `>log 2>&1`), as is a socket
 * (it cannot be reopened). The one hazard left: a libuv worker thread opening a file in the
 * microseconds between close(2) and the open after it would get descriptor 2; both places check
 * for that and then leave stderr unsilenced or closed rather than write into that file.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';

const STDERR = 2;

/** Runs `call` (synchronous) with stderr silenced where that is safe; see the file header. */
export function withoutNativeStderr<T>(call: () => T): T {
  const saved = silence();
  try {
    return call();
  } finally {
    if (saved !== undefined) restore(saved);
  }
}

/** Points fd 2 at /dev/null; returns a reopened copy of the real stderr, or undefined if not. */
function silence(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let saved: number;
  try {
    const stats = fstatSync(STDERR);
    if (!stats.isCharacterDevice() && !stats.isFIFO()) return undefined;
    saved = openSync(`/proc/self/fd/${STDERR}`, constants.O_WRONLY);
  } catch {
    return undefined;
  }
  closeSync(STDERR);
  const nul = openSync('/dev/null', constants.O_WRONLY);
  if (nul === STDERR) return saved;
  // Another thread took descriptor 2 in between: that file is theirs; ours are closed again.
  closeSync(nul);
  closeSync(saved);
  return undefined;
}

function restore(saved: number): void {
  closeSync(STDERR);
  const back = openSync(`/proc/self/fd/${saved}`, constants.O_WRONLY);
  closeSync(saved);
  if (back !== STDERR) closeSync(back);
}
