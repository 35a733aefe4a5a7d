import { afterEach, describe, expect, it } from 'vitest';
import { MaxWaitExceededError } from '../src/errors.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import type { MultiLimitOptions, TokenBucketOptions } from '../src/types/options.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';

/** Two instances on one buffer with one fake clock stand for two threads (see shared.test.ts). */
function twoThreads(options: TokenBucketOptions | MultiLimitOptions): {
  clock: FakeClock;
  a: SharedTokenBucketFilter;
  b: SharedTokenBucketFilter;
} {
  const clock = createFakeClock();
  const a = new SharedTokenBucketFilter({ ...options, clock } as TokenBucketOptions);
  const b = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock });
  return { clock, a, b };
}

/** Lets the runtime deliver Atomics.waitAsync wake-ups (a real macrotask; nothing sleeps). */
async function nextMacrotask(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await flushPromises();
}

describe('SharedTokenBucketFilter: several limits across threads', () => {
  it('every grant, in any thread, waits for every limit and takes from all of them', async () => {
    // 2 per 100 ms and 5 per 1000 ms, both full.
    const { clock, a, b } = twoThreads({
      limits: [
        { capacity: 2, refillTokens: 2, refillInterval: 100 },
        { capacity: 5, refillTokens: 5, refillInterval: 1000 },
      ],
    });
    expect(b.capacity).toBe(2);
    expect(a.tryGetToken(2)).toBe(true);
    expect(b.tryGetToken()).toBe(false);
    await clock.tickAsync(100);
    expect(b.tryGetToken(2)).toBe(true);
    await clock.tickAsync(100);
    expect(a.tryGetToken()).toBe(true); // the fifth of the second limit
    await clock.tickAsync(100);
    expect(b.tryGetToken()).toBe(false); // the first limit has 2, the second none until 1000 ms
    expect(b.waitTime()).toBe(700);
    const later = track(a.getToken(2), clock);
    expect(b.waitTime()).toBe(800); // behind a's caller, which takes both first-limit tokens at 1000
    await clock.tickAsync(700);
    expect(later).toMatchObject({ state: 'granted', at: 1000 });
    a.close();
  });

  it('refuses more than 8 limits, the room its buffer has', () => {
    const limits = Array.from({ length: 9 }, () => ({ capacity: 1 }));
    expect(() => new SharedTokenBucketFilter({ limits })).toThrow(
      new RangeError('limits must hold at most 8 limits for a SharedTokenBucketFilter, received 9'),
    );
    const bucket = new SharedTokenBucketFilter({ capacity: 1 });
    expect(() => bucket.reconfigure({ limits })).toThrow(/at most 8 limits/);
    bucket.close();
  });
});

describe('SharedTokenBucketFilter: reconfigure() in one thread holds for every thread', () => {
  const realWaitAsync = (Atomics as { waitAsync?: unknown }).waitAsync;
  afterEach(() => {
    (Atomics as { waitAsync?: unknown }).waitAsync = realWaitAsync;
  });

  it('the other thread sees the new limits at once, tokens carried over as in every bucket', async () => {
    const { clock, a, b } = twoThreads({ capacity: 10, refillTokens: 1, refillInterval: 1000 });
    expect(b.tryGetToken(4)).toBe(true);
    a.reconfigure({ capacity: 3, refillInterval: 100 });
    expect(b.capacity).toBe(3);
    expect(b.available).toBe(3); // 6 held, capped at the new capacity
    expect(() => b.tryGetToken(4)).toThrow(new RangeError('count must not exceed the capacity (3), received 4'));
    expect(b.tryGetToken(3)).toBe(true);
    expect(b.waitTime()).toBe(100); // the schedule restarted at the reconfiguration
    await clock.tickAsync(300);
    expect(b.available).toBe(3);
    a.close();
  });

  it("re-plans the other thread's queued callers: above the new capacity RangeError, the rest move to the new rate", async () => {
    const { clock, a, b } = twoThreads({ capacity: 5, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    const big = track(b.getToken(3), clock); // at 3000 ms
    const small = track(b.getToken(1, { maxWait: 5000 }), clock); // at 4000 ms
    a.reconfigure({ capacity: 2 });
    await nextMacrotask(); // b hears of it through Atomics.waitAsync
    expect(big.state).toBe('rejected');
    expect(big.error).toEqual(new RangeError('count must not exceed the new capacity (2), received 3'));
    expect(b.pending).toBe(1);
    await clock.tickAsync(1000);
    expect(small).toMatchObject({ state: 'granted', at: 1000 }); // the caller behind moved up
    expect(a.stats()).toMatchObject({ overCapacity: 1, granted: 1, tokensGranted: 1, pending: 0 });
    a.close();
  });

  it("re-checks the other thread's maxWait from each caller's call, as every bucket does", async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    const first = track(b.getToken(1), clock); // at 1000 ms
    const second = track(b.getToken(1, { maxWait: 2500 }), clock); // at 2000 ms
    await clock.tickAsync(0);
    a.reconfigure({ refillInterval: 2000 });
    await nextMacrotask();
    expect(second.state).toBe('rejected');
    expect(second.error).toBeInstanceOf(MaxWaitExceededError);
    expect(second.error).toMatchObject({ waitTime: 4000, maxWait: 2500 });
    await clock.tickAsync(4000);
    expect(first).toMatchObject({ state: 'granted', at: 2000 });
    expect(b.stats().maxWaitExceeded).toBe(1);
    a.close();
  });

  it('without Atomics.waitAsync, the other thread re-plans before it grants anyone', async () => {
    delete (Atomics as { waitAsync?: unknown }).waitAsync;
    const { clock, a, b } = twoThreads({ capacity: 1, refillTokens: 1, refillInterval: 500, initialTokens: 0 });
    const theirs = track(b.getToken(), clock); // at 500 ms on the old schedule, before b's 1 s look
    a.reconfigure({ refillInterval: 10_000 });
    await clock.tickAsync(500);
    expect(theirs.state).toBe('pending'); // b's timer woke, but not to grant on a replaced plan
    await clock.tickAsync(9499);
    expect(theirs.state).toBe('pending');
    await clock.tickAsync(1);
    expect(theirs).toMatchObject({ state: 'granted', at: 10_000 });
    a.close();
  });

  it('a caller of another thread already due when the reconfiguration came is granted as planned', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    // At 2000 ms a halves the capacity before b's timer wakes for its caller of 2, due at that very
    // instant: as in an in-process bucket (which grants what is due before it reconfigures), it is granted.
    clock.setTimeout(() => {
      a.reconfigure({ capacity: 1 });
    }, 2000);
    const theirs = track(b.getToken(2), clock);
    const next = track(b.getToken(1), clock); // at 3000 ms on the old plan: re-planned, still at 3000
    await clock.tickAsync(2000);
    expect(theirs).toMatchObject({ state: 'granted', at: 2000 });
    await clock.tickAsync(1000);
    expect(next).toMatchObject({ state: 'granted', at: 3000 });
    expect(a.stats()).toMatchObject({ overCapacity: 0, tokensGranted: 3 });
    a.close();
  });

  it('a caller of the reconfiguring thread is re-planned exactly as in an in-process bucket', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    const mine = [track(a.getToken(1), clock), track(a.getToken(1), clock)]; // at 1000 and 2000 ms
    await clock.tickAsync(500);
    a.reconfigure({ refillInterval: 100 });
    await clock.tickAsync(200);
    expect(mine.map((outcome) => outcome.at)).toEqual([600, 700]);
    expect(b.tryGetToken()).toBe(false);
    a.close();
  });

  it('never lets callers of two threads together exceed the new schedule', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    const calls = [track(a.getToken(), clock), track(b.getToken(), clock), track(a.getToken(), clock)];
    a.reconfigure({ refillInterval: 500 });
    await nextMacrotask();
    await clock.tickAsync(3000);
    const instants = calls.map((call) => call.at as number).sort((x, y) => x - y);
    instants.forEach((at, i) => {
      expect(at, `grant ${i + 1}`).toBeGreaterThanOrEqual((i + 1) * 500); // 0 tokens carried, one per 500 ms
    });
    expect(instants.at(-1)).toBeLessThanOrEqual(1500);
    a.close();
  });
});

describe('SharedTokenBucketFilter: stats() across threads', () => {
  it('counts the calls of every thread, and pending across them', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillTokens: 1, refillInterval: 1000 });
    expect(a.tryGetToken()).toBe(true);
    expect(b.tryGetToken()).toBe(true);
    expect(b.tryGetToken()).toBe(false);
    const queued = track(a.getToken(), clock);
    await expect(b.getToken(1, { maxWait: 10 })).rejects.toBeInstanceOf(MaxWaitExceededError);
    const controller = new AbortController();
    const aborted = track(b.getToken(1, { signal: controller.signal }), clock);
    const closed = track(b.getToken(), clock);
    expect(b.stats()).toEqual({
      tokensGranted: 2,
      granted: 2,
      denied: 1,
      maxWaitExceeded: 1,
      queueFull: 0,
      aborted: 0,
      closed: 0,
      overCapacity: 0,
      pending: 3,
    });
    controller.abort();
    await clock.tickAsync(1000);
    expect(queued.at).toBe(1000);
    expect(aborted.state).toBe('rejected');
    b.close();
    await flushPromises();
    expect(closed.state).toBe('rejected');
    expect(a.stats()).toEqual({
      tokensGranted: 3,
      granted: 3,
      denied: 1,
      maxWaitExceeded: 1,
      queueFull: 0,
      aborted: 1,
      closed: 1,
      overCapacity: 0,
      pending: 0,
    });
  });
});

describe('SharedTokenBucketFilter: tryGetToken() refusals proved without the lock', () => {
  it("sees tokens another thread's abort gave back, before the instant it last saw", async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, refillTokens: 1, refillInterval: 1000 });
    expect(b.tryGetToken()).toBe(true);
    const controller = new AbortController();
    const aborted = track(b.getToken(1, { signal: controller.signal }), clock); // reserves the step at 1000
    expect(a.tryGetToken()).toBe(false); // the next token is 2000's
    await clock.tickAsync(500);
    expect(a.tryGetToken()).toBe(false);
    controller.abort();
    await clock.tickAsync(700);
    expect(aborted.state).toBe('rejected');
    expect(a.tryGetToken()).toBe(true); // 1000's token went back to the bucket
    expect(a.stats()).toMatchObject({ denied: 2, granted: 2 });
    a.close();
  });

  it("sees another thread's reconfiguration to a faster rate at once", async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, refillTokens: 1, refillInterval: 1000, initialTokens: 0 });
    expect(a.tryGetToken()).toBe(false); // nothing before 1000
    b.reconfigure({ refillInterval: 100 });
    await clock.tickAsync(150);
    expect(a.tryGetToken()).toBe(true);
    a.close();
  });
});

describe('SharedTokenBucketFilter: the layout version', () => {
  it('refuses a handle from an older build (layout 1) with a TypeError that says so', () => {
    const old = new SharedArrayBuffer(192);
    Atomics.store(new Int32Array(old), 18, 0x54424631); // "TBF1" where layout 1 kept it
    expect(() => SharedTokenBucketFilter.from({ buffer: old })).toThrow(
      new TypeError(
        'handle comes from an older build of token-bucket-filter (shared layout version 1; this build reads version 3): every thread must load the same build',
      ),
    );
  });

  it('refuses a handle from a build before pause() (layout 2, same size) with a TypeError that says so', () => {
    const old = new SharedArrayBuffer(776);
    Atomics.store(new Int32Array(old), 4, 0x54424632); // "TBF2"
    expect(() => SharedTokenBucketFilter.from({ buffer: old })).toThrow(
      new TypeError(
        'handle comes from an older build of token-bucket-filter (shared layout version 2; this build reads version 3): every thread must load the same build',
      ),
    );
  });
});
