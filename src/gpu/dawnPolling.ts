/**
 * Dawn's event loop in Node, made to sleep while a software adapter works.
 *
 * While any WebGPU promise is pending (`onSubmittedWorkDone`, `mapAsync`, `requestDevice`...),
 * dawn.node polls: a native callback runs `ProcessEvents` and schedules itself again with the
 * global `setImmediate`, so the JS thread spins at 100% of a core until the promise settles. On a
 * software adapter (lavapipe, SwiftShader) the GPU's workers are CPU threads too, and on a 2-core
 * machine the spin takes about half of the machine from them: the reference CNN trained 1.9x
 * faster on lavapipe with the spin throttled (docs/measurements.md, "Dawn's poll loop").
 *
 * The throttle replaces `globalThis.setImmediate` with a function that passes every call through
 * unchanged except Dawn's polls (native, unnamed callbacks). A chain of polls (one scheduled from
 * inside the previous) spins as before for its first `SPIN_MS`, so short waits keep their latency;
 * after that the thread sleeps before each poll (`pauseMs`: an eighth of the wait so far, 50 µs
 * to 1 ms). A 1 ms timer instead made the GPT sampler's 4-5 ms waits slower. Node only; a
 * browser's WebGPU does not poll in JS.
 */

import { ShadergradError } from '../base/errors';

/** How long a wait keeps Dawn's own back-to-back polling before it sleeps between polls. */
export const SPIN_MS = 1;

/**
 * The sleep before each later poll: an eighth of the time waited so far, from 50 µs to 1 ms, so a
 * poll comes at most about 12% (or 1 ms) after the GPU is done, with about 1,000 wake-ups a
 * second on a long wait.
 */
export function pauseMs(waitedMs: number): number {
  return Math.min(1, Math.max(0.05, waitedMs / 8));
}

type Scheduler = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

/** How Dawn's polls are scheduled: its own spin, or the throttle above. */
export type DawnPolling = 'spin' | 'throttled';

/** `SHADERGRAD_DAWN_POLL=spin` keeps Dawn's own loop (to measure it); undefined: the default. */
export function readDawnPollingEnv(value: string | undefined): DawnPolling | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'spin' || value === 'throttled') return value;
  throw new ShadergradError(`SHADERGRAD_DAWN_POLL=${value}: expected spin or throttled`);
}

const NATIVE_CODE = /\{\s*\[native code\]\s*\}\s*$/;

/** Dawn's poll callback: a native function with no name (bound functions are named "bound f"). */
export function isDawnPoll(callback: unknown): boolean {
  return (
    typeof callback === 'function' &&
    callback.name === '' &&
    NATIVE_CODE.test(Function.prototype.toString.call(callback))
  );
}

/**
 * A setImmediate that hands Dawn's polls to `later` (with the time waited so far) once their chain
 * is older than `spinMs`; `now` and `later` are injectable for tests. Everything else goes to
 * `immediate` untouched.
 */
export function throttledImmediate(
  immediate: Scheduler,
  later: (run: () => void, waitedMs: number) => unknown,
  now: () => number,
  spinMs = SPIN_MS,
): Scheduler {
  let chainStart = 0;
  let insidePoll = false;
  return (callback, ...args) => {
    if (!isDawnPoll(callback)) return immediate(callback, ...args);
    const time = now();
    // Dawn schedules the next poll from inside the current one; any other call starts a wait.
    if (!insidePoll) chainStart = time;
    const run = (): void => {
      insidePoll = true;
      try {
        callback(...args);
      } finally {
        insidePoll = false;
      }
    };
    const waited = time - chainStart;
    return waited < spinMs ? immediate(run) : later(run, waited);
  };
}

let installed = false;

/** How this process schedules Dawn's polls now. */
export function dawnPolling(): DawnPolling {
  return installed ? 'throttled' : 'spin';
}

/** Installs the throttle on this process's `setImmediate` (once; later calls do nothing). */
export function throttleDawnPolling(): void {
  if (installed) return;
  installed = true;
  const host = globalThis as unknown as Record<string | symbol, unknown>;
  const original = host.setImmediate as Scheduler & object;
  // Atomics.wait on a word nobody writes: a sleep of the thread, finer than a timer's 1 ms.
  const word = new Int32Array(new SharedArrayBuffer(4));
  const sleepThenRun = (run: () => void, waitedMs: number): unknown =>
    original(() => {
      Atomics.wait(word, 0, 0, pauseMs(waitedMs));
      run();
    });
  const throttled = throttledImmediate(original, sleepThenRun, () => performance.now());
  // Keep what hangs off the original: util.promisify.custom.
  for (const key of Object.getOwnPropertySymbols(original))
    Reflect.set(throttled, key, Reflect.get(original, key));
  host.setImmediate = throttled;
}
