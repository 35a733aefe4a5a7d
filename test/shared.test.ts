import { afterEach, describe, expect, it } from 'vitest';
import { BucketClosedError, InvalidClockReadingError, MaxWaitExceededError } from '../src/errors.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';
import { defined } from './support/defined.js';

/**
 * Two instances on one buffer with one fake clock stand for two threads: each has its own queue and
 * timer, and they meet only in the shared memory, exactly as instances in two workers do.
 */
function twoThreads(options: {
  capacity: number;
  refillTokens?: number;
  refillInterval?: number;
  initialTokens?: number;
}): {
  clock: FakeClock;
  a: SharedTokenBucketFilter;
  b: SharedTokenBucketFilter;
} {
  const clock = createFakeClock();
  const a = new SharedTokenBucketFilter({ ...options, clock });
  const b = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock });
  return { clock, a, b };
}

/** Lets the runtime deliver Atomics.waitAsync wake-ups (a real macrotask; nothing sleeps). */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('SharedTokenBucketFilter: creating and attaching', () => {
  it('has a structured-clonable handle whose clone draws from the same tokens', () => {
    const clock = createFakeClock();
    const bucket = new SharedTokenBucketFilter({ capacity: 3, clock });
    const clone = structuredClone(bucket.handle);
    expect(clone.buffer).toBeInstanceOf(SharedArrayBuffer);
    const other = SharedTokenBucketFilter.from(clone, { clock });
    expect(other.capacity).toBe(3);
    expect(bucket.tryGetToken(2)).toBe(true);
    expect(other.available).toBe(1);
    expect(other.tryGetToken()).toBe(true);
    expect(bucket.available).toBe(0);
    bucket.close();
  });

  it.each([undefined, null, {}, { buffer: new ArrayBuffer(192) }, { buffer: new SharedArrayBuffer(192) }, 'handle'])(
    'from(%s) throws a TypeError naming what it received',
    (handle) => {
      expect(() => SharedTokenBucketFilter.from(handle as never)).toThrow(TypeError);
      expect(() => SharedTokenBucketFilter.from(handle as never)).toThrow(
        /handle must be the handle of a SharedTokenBucketFilter/,
      );
    },
  );

  it('from() refuses a clock on one side only, and unknown options', () => {
    const withClock = new SharedTokenBucketFilter({ capacity: 1, clock: createFakeClock() });
    const withoutClock = new SharedTokenBucketFilter({ capacity: 1 });
    expect(() => SharedTokenBucketFilter.from(withClock.handle)).toThrow(/created with an injected clock/);
    expect(() => SharedTokenBucketFilter.from(withoutClock.handle, { clock: createFakeClock() })).toThrow(
      /created with the default clock/,
    );
    expect(() => SharedTokenBucketFilter.from(withoutClock.handle, { clok: 1 } as never)).toThrow(
      /Unknown option "clok"/,
    );
    expect(() => SharedTokenBucketFilter.from(withClock.handle, { clock: {} as never })).toThrow(/clock must have/);
    withClock.close();
    withoutClock.close();
  });

  it('validates options like every bucket, and refuses kind', () => {
    expect(() => new SharedTokenBucketFilter({ capacity: 0 })).toThrow(
      /capacity must be a positive safe integer, received 0/,
    );
    expect(() => new SharedTokenBucketFilter({ capacity: 1, kind: 'lazy' } as never)).toThrow(/Unknown option "kind"/);
  });

  it('refuses a rate above 2^20 tokens per ms, as every bucket does', () => {
    expect(() => new SharedTokenBucketFilter({ capacity: 2 ** 40, refillTokens: 2 ** 40, refillInterval: 1 })).toThrow(
      /refillTokens \/ refillInterval must be at most 2\^20 \(1048576\) tokens per ms.*received 1099511627776 tokens every 1 ms/,
    );
    // A billion tokens a second is fine.
    new SharedTokenBucketFilter({ capacity: 1e9, refillTokens: 1e9, refillInterval: 1000 }).close();
  });

  it('reads time on the base all threads share by default: performance.timeOrigin + performance.now()', () => {
    const bucket = new SharedTokenBucketFilter({ capacity: 2, refillInterval: 60_000 });
    const origin = defined(new Float64Array(bucket.handle.buffer)[16]);
    const now = performance.timeOrigin + performance.now();
    expect(Math.abs(origin - now)).toBeLessThan(1000);
    expect(bucket.tryGetToken(2)).toBe(true);
    expect(bucket.waitTime()).toBeGreaterThan(59_000);
    bucket.close();
  });
});

describe('SharedTokenBucketFilter: two threads on one bucket', () => {
  const realWaitAsync = (Atomics as { waitAsync?: unknown }).waitAsync;
  afterEach(() => {
    (Atomics as { waitAsync?: unknown }).waitAsync = realWaitAsync;
  });

  it('serves callers of both threads in the order they reserved, each at its exact step', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0 });
    const first = track(a.getToken(), clock);
    const second = track(b.getToken(), clock);
    const third = track(a.getToken(), clock);
    expect(a.pending).toBe(3);
    expect(b.pending).toBe(3);
    await clock.tickAsync(3000);
    expect([first.at, second.at, third.at]).toEqual([1000, 2000, 3000]);
    expect(a.pending).toBe(0);
    a.close();
  });

  it('tryGetToken in one thread never barges past a caller queued in another', async () => {
    const { clock, a, b } = twoThreads({ capacity: 5, refillInterval: 100, initialTokens: 0 });
    const big = track(a.getToken(3), clock);
    await clock.tickAsync(200);
    expect(b.available).toBe(0); // 2 tokens are there, but they belong to a's caller
    expect(b.tryGetToken()).toBe(false);
    expect(b.waitTime(1)).toBe(200);
    await clock.tickAsync(100);
    expect(big).toMatchObject({ state: 'granted', at: 300 });
    await clock.tickAsync(100);
    expect(b.tryGetToken()).toBe(true);
    a.close();
  });

  it("counts the other thread's queue in maxWait", async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, initialTokens: 0 });
    track(a.getToken(2), clock); // at 2000 ms
    await expect(b.getToken(1, { maxWait: 2999 })).rejects.toBeInstanceOf(MaxWaitExceededError);
    const fits = track(b.getToken(1, { maxWait: 3000 }), clock);
    await clock.tickAsync(3000);
    expect(fits.at).toBe(3000);
    a.close();
  });

  it('an abort gives the tokens back when nobody in another thread reserved since', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0 });
    const controller = new AbortController();
    const first = track(b.getToken(), clock); // at 1000 ms
    const aborted = track(a.getToken(1, { signal: controller.signal }), clock); // at 2000 ms
    const behind = track(a.getToken(), clock); // at 3000 ms: same thread, moves up
    controller.abort();
    await flushPromises();
    expect(aborted.state).toBe('rejected');
    const later = track(b.getToken(), clock);
    await clock.tickAsync(3000);
    expect([first.at, behind.at, later.at]).toEqual([1000, 2000, 3000]);
    a.close();
  });

  it('an abort with a later reservation of another thread behind it lets its step pass unused', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0 });
    const controller = new AbortController();
    const aborted = track(a.getToken(1, { signal: controller.signal }), clock); // at 1000 ms
    const other = track(b.getToken(), clock); // at 2000 ms, counted on the step before
    const mine = track(a.getToken(), clock); // at 3000 ms
    controller.abort(new Error('gone'));
    await flushPromises();
    expect(aborted).toMatchObject({ state: 'rejected' });
    expect((aborted.error as Error).message).toBe('gone');
    expect(a.pending).toBe(2);
    await clock.tickAsync(3000);
    // Nobody is granted at 1000 ms: b's caller keeps its step, and so does a's caller behind it.
    expect([other.at, mine.at]).toEqual([2000, 3000]);
    expect(a.available).toBe(0);
    a.close();
  });

  it('close() in one thread rejects the callers queued in the other at once (Atomics.waitAsync) and later calls', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0, refillInterval: 60_000 });
    const mine = track(a.getToken(), clock);
    const theirs = [track(b.getToken(), clock), track(b.getToken(), clock)];
    a.close();
    await flushPromises();
    expect(mine.error).toBeInstanceOf(BucketClosedError);
    await nextMacrotask();
    await flushPromises();
    expect(theirs.map((o) => o.error instanceof BucketClosedError)).toEqual([true, true]);
    expect(clock.countTimers()).toBe(0);
    expect(() => b.tryGetToken()).toThrow(BucketClosedError);
    await expect(b.getToken()).rejects.toBeInstanceOf(BucketClosedError);
    expect(b.available).toBe(0);
    expect(b.pending).toBe(0);
    b.close(); // harmless
  });

  it('without Atomics.waitAsync, callers queued in another thread are rejected within 1 s of a close', async () => {
    delete (Atomics as { waitAsync?: unknown }).waitAsync;
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0, refillInterval: 60_000 });
    const theirs = track(b.getToken(), clock);
    a.close();
    await clock.tickAsync(999);
    expect(theirs.state).toBe('pending');
    await clock.tickAsync(1);
    expect(theirs.error).toBeInstanceOf(BucketClosedError);
    expect(clock.countTimers()).toBe(0);
  });

  it('holds one timer per thread, whatever the number of callers queued', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, initialTokens: 0, refillInterval: 10 });
    const outcomes = Array.from({ length: 100 }, (_, i) => track((i % 2 === 0 ? a : b).getToken(), clock));
    expect(clock.countTimers()).toBe(2);
    await clock.tickAsync(1000);
    expect(outcomes.map((o) => o.at)).toEqual(Array.from({ length: 100 }, (_, i) => (i + 1) * 10));
    expect(clock.countTimers()).toBe(0);
    a.close();
  });
});

describe('SharedTokenBucketFilter: broken clocks, hostile options, extreme reservations', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 43, '5'])(
    'on the default clock (timeOrigin + performance.now()), a performance.now() of %s is refused: nothing is taken, getToken() never throws',
    async (reading) => {
      // Regression: NaN took a token, +Infinity threw a RangeError from getToken() (BigInt(Infinity)),
      // and 2^43 (beyond the ±2^42 ms of a valid reading once timeOrigin is added) filled the bucket.
      const bucket = new SharedTokenBucketFilter({ capacity: 2, initialTokens: 1, refillInterval: 60_000 });
      const performance = globalThis.performance as { now: () => unknown };
      let promise: Promise<void> | undefined;
      try {
        performance.now = () => reading;
        expect(() => (promise = bucket.getToken())).not.toThrow();
        await expect(promise).rejects.toBeInstanceOf(InvalidClockReadingError);
        expect(() => bucket.tryGetToken()).toThrow(InvalidClockReadingError);
        expect(() => bucket.waitTime()).toThrow(InvalidClockReadingError);
        expect(bucket.available).toBe(1);
      } finally {
        delete (performance as { now?: unknown }).now; // back to Performance.prototype.now
      }
      expect(bucket.available).toBe(1);
      expect(bucket.tryGetToken()).toBe(true);
      bucket.close();
    },
  );

  it('a thread attached with from() on a broken clock takes nothing, and the other thread goes on on schedule', async () => {
    const clock = createFakeClock();
    let broken: unknown;
    const brokenClock = Object.create(clock) as FakeClock;
    brokenClock.performance = { now: () => (broken === undefined ? clock.performance.now() : (broken as number)) };
    const a = new SharedTokenBucketFilter({ capacity: 2, refillInterval: 100, initialTokens: 0, clock });
    const b = SharedTokenBucketFilter.from(a.handle, { clock: brokenClock });
    const theirs = track(b.getToken(), clock); // at 100 ms
    broken = Number.POSITIVE_INFINITY;
    await expect(b.getToken()).rejects.toBeInstanceOf(InvalidClockReadingError);
    expect(() => b.tryGetToken()).toThrow(InvalidClockReadingError);
    const mine = track(a.getToken(), clock); // at 200 ms: b's refused call reserved nothing
    await clock.tickAsync(300);
    expect(mine).toMatchObject({ state: 'granted', at: 200 });
    expect(theirs.state).toBe('pending'); // b's timer woke on invalid readings: it granted nothing
    broken = undefined;
    await clock.tickAsync(1000); // b's timer retries within a second
    expect(theirs).toMatchObject({ state: 'granted' });
    expect(a.available).toBe(2); // 13 steps by 1300 ms, capped at 2
    a.close();
  });

  it('accepts refillTokens far above capacity, as every bucket does (the effective rate is what counts)', async () => {
    // Regression: the shared bucket refused it with its own "overflow within 100 years" check.
    const clock = createFakeClock();
    const bucket = new SharedTokenBucketFilter({
      capacity: 2,
      refillTokens: 2 ** 50,
      refillInterval: 1,
      initialTokens: 0,
      clock,
    });
    await clock.tickAsync(1);
    expect(bucket.available).toBe(2);
    expect(bucket.tryGetToken(2)).toBe(true);
    await clock.tickAsync(10 ** 6);
    expect(bucket.available).toBe(2);
    bucket.close();
  });

  it('reservations far beyond any clock reading wait, as in every bucket, and never wrap into a full bucket', async () => {
    // Regression (layout 1): the 1025th reservation of 2^53 − 1 tokens pushed the 64-bit debit word past
    // 2^63 − 1, which wrapped it into a full bucket; that build refused it with a RangeError. The state is
    // now each limit's tokens and step as the core keeps them, so such callers simply wait, as in every bucket.
    const clock = createFakeClock();
    const capacity = Number.MAX_SAFE_INTEGER;
    const bucket = new SharedTokenBucketFilter({
      capacity,
      refillTokens: 1,
      refillInterval: 1,
      initialTokens: 0,
      clock,
    });
    const calls = Array.from({ length: 1025 }, () => track(bucket.getToken(capacity), clock));
    await flushPromises();
    expect(calls.filter((call) => call.state === 'pending')).toHaveLength(1025);
    expect(bucket.pending).toBe(1025);
    expect(bucket.tryGetToken()).toBe(false);
    expect(bucket.available).toBe(0);
    await clock.tickAsync(10_000);
    expect(bucket.available).toBe(0);
    expect(bucket.waitTime()).toBeGreaterThan(2 ** 53);
    bucket.close();
  });

  it('a polluted Object.prototype (kind, clock, buffer) changes neither the constructor nor from()', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    const bucket = new SharedTokenBucketFilter({ capacity: 2 });
    try {
      prototype['kind'] = 'lazy';
      prototype['clock'] = createFakeClock();
      prototype['buffer'] = bucket.handle.buffer;
      new SharedTokenBucketFilter({ capacity: 1 }).close(); // no own kind: no "Unknown option"
      const attached = SharedTokenBucketFilter.from({ buffer: bucket.handle.buffer }); // no own clock
      expect(attached.tryGetToken(2)).toBe(true);
      expect(() => SharedTokenBucketFilter.from({} as never)).toThrow(/handle must be the handle/);
    } finally {
      delete prototype['kind'];
      delete prototype['clock'];
      delete prototype['buffer'];
    }
    bucket.close();
  });
});
