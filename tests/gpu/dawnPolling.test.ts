import { describe, expect, it } from 'vitest';
import {
  dawnPolling,
  isDawnPoll,
  pauseMs,
  readDawnPollingEnv,
  throttledImmediate,
} from '../../src/gpu/dawnPolling';
import { ShadergradError } from '../../src/base/errors';
import { useTestGpu } from '../helpers/gpu';

const gpu = useTestGpu();

/** An unnamed native function, as dawn.node hands to setImmediate. */
function nativePoll(onRun: () => void): () => void {
  return new Proxy(function () {}, { apply: onRun });
}

/** A scheduler that records where each callback went and runs them when asked. */
function fakeScheduling(spinMs: number) {
  let time = 0;
  const queued: Array<{ via: 'immediate' | 'later'; run: () => void }> = [];
  const waits: number[] = [];
  const schedule = throttledImmediate(
    (callback, ...args) => queued.push({ via: 'immediate', run: () => callback(...args) }),
    (run, waitedMs) => {
      waits.push(waitedMs);
      return queued.push({ via: 'later', run });
    },
    () => time,
    spinMs,
  );
  return {
    schedule,
    /** The time waited that each poll handed to `later` was told. */
    waits,
    advance: (ms: number) => (time += ms),
    /** Runs the oldest queued callback; returns how it had been scheduled. */
    runNext: () => {
      const next = queued.shift();
      if (!next) throw new Error('nothing queued');
      next.run();
      return next.via;
    },
    queued: () => queued.length,
  };
}

describe("Dawn's poll loop", () => {
  it("recognizes Dawn's callbacks: native and unnamed, not JS functions or named natives", () => {
    expect(isDawnPoll(nativePoll(() => undefined))).toBe(true);
    expect(isDawnPoll(() => undefined)).toBe(false);
    expect(isDawnPoll(function () {})).toBe(false);
    expect(isDawnPoll(Math.max)).toBe(false);
    expect(isDawnPoll((() => undefined).bind(null))).toBe(false);
    expect(isDawnPoll('not a function')).toBe(false);
  });

  it('spins for the first spinMs of a chain of polls, then polls per timer tick', () => {
    const s = fakeScheduling(1);
    let polls = 0;
    // Like dawn.node: each poll schedules the next from inside itself, for five polls.
    const poll = nativePoll(() => {
      polls++;
      s.advance(0.4);
      if (polls < 5) s.schedule(poll);
    });
    s.schedule(poll);
    const via: string[] = [];
    while (s.queued() > 0) via.push(s.runNext());
    expect(polls).toBe(5);
    // Scheduled at 0, 0.4, 0.8 (under 1 ms: immediate), then 1.2 and 1.6 (after a pause).
    expect(via).toEqual(['immediate', 'immediate', 'immediate', 'later', 'later']);
    expect(s.waits.map((w) => w.toFixed(1))).toEqual(['1.2', '1.6']);
  });

  it('pauses an eighth of the time waited, from 50 µs to 1 ms', () => {
    expect(pauseMs(0)).toBe(0.05);
    expect(pauseMs(2)).toBe(0.25);
    expect(pauseMs(8)).toBe(1);
    expect(pauseMs(150)).toBe(1);
  });

  it('starts a new chain, spinning again, when a poll is scheduled from outside a poll', () => {
    const s = fakeScheduling(1);
    const poll = nativePoll(() => s.advance(5));
    s.schedule(poll);
    expect(s.runNext()).toBe('immediate');
    s.schedule(poll); // a new wait, long after the first chain started
    expect(s.runNext()).toBe('immediate');
  });

  it('passes every other callback straight through, with its arguments', () => {
    const s = fakeScheduling(0); // throttle Dawn at once: others must still be immediate
    const got: unknown[] = [];
    s.schedule((a: unknown, b: unknown) => got.push(a, b), 'x', 2);
    expect(s.runNext()).toBe('immediate');
    expect(got).toEqual(['x', 2]);
  });

  it('reads SHADERGRAD_DAWN_POLL, refusing anything else by name', () => {
    expect(readDawnPollingEnv(undefined)).toBeUndefined();
    expect(readDawnPollingEnv('')).toBeUndefined();
    expect(readDawnPollingEnv('spin')).toBe('spin');
    expect(readDawnPollingEnv('throttled')).toBe('throttled');
    expect(() => readDawnPollingEnv('fast')).toThrow(ShadergradError);
    expect(() => readDawnPollingEnv('fast')).toThrow(/SHADERGRAD_DAWN_POLL=fast/);
  });

  it("is throttled in this process once a software adapter's device exists", async () => {
    const override = process.env.SHADERGRAD_DAWN_POLL;
    const expected =
      override === 'spin' || override === 'throttled'
        ? override
        : gpu().adapter.isSoftware
          ? 'throttled'
          : 'spin';
    expect(dawnPolling()).toBe(expected);
    // setImmediate still works for everyone else, promisified too.
    const { promisify } = await import('node:util');
    await expect(promisify(setImmediate)('value')).resolves.toBe('value');
    await gpu().device.queue.onSubmittedWorkDone();
  });
});
