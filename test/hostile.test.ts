import { getEventListeners } from 'node:events';
import FakeTimers from '@sinonjs/fake-timers';
import { describe, expect, it } from 'vitest';
import { ClockRetry, ClockTimer, readClock, timerDelay, type Clock } from '../src/clock.js';
import {
  InvalidClockReadingError,
  KeyedTokenBucketFilter,
  LazyTokenBucketFilter,
  MAX_CLOCK_READING,
  TimerTokenBucketFilter,
  TokenBucketFilterFactory,
  wrap,
} from '../src/index.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

/** The number of Node timers (setTimeout/setInterval handles) alive in this process right now. */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** A clock whose readings come from `read`, with the timers of a fake clock. */
function clockReading(read: () => unknown): Clock {
  const fake = createFakeClock();
  return Object.assign(Object.create(fake) as Clock, { performance: { now: read as () => number } });
}

describe('clock readings', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, -(2 ** 43), 'soon', null])(
    'readClock refuses %s with InvalidClockReadingError naming it',
    (reading) => {
      const error = (() => {
        try {
          readClock(clockReading(() => reading));
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidClockReadingError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain(typeof reading === 'string' ? `"${reading}"` : String(reading));
    },
  );

  it('accepts readings up to ±2^42 ms (an epoch-based clock included)', () => {
    for (const reading of [0, -MAX_CLOCK_READING, MAX_CLOCK_READING, Date.now()]) {
      expect(readClock(clockReading(() => reading))).toBe(reading);
    }
  });

  it.each([
    ['LazyTokenBucketFilter', (clock: Clock) => new LazyTokenBucketFilter({ capacity: 1, clock })],
    ['TimerTokenBucketFilter', (clock: Clock) => new TimerTokenBucketFilter({ capacity: 1, clock })],
    ['KeyedTokenBucketFilter', (clock: Clock) => new KeyedTokenBucketFilter({ capacity: 1, clock })],
    ['the factory', (clock: Clock) => TokenBucketFilterFactory.create({ capacity: 1, kind: 'timer', clock })],
  ])('%s refuses to be created on an invalid reading', (_name, create) => {
    expect(() => create(clockReading(() => Number.NaN))).toThrow(InvalidClockReadingError);
  });

  it('ClockRetry waits 1 ms, doubling to 1 s while readings stay invalid, and starts over after a valid one', () => {
    const retry = new ClockRetry();
    const delays = Array.from({ length: 12 }, () => retry.next());
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000]);
    retry.reset();
    expect(retry.next()).toBe(1);
  });

  it('timerDelay turns NaN and negative waits into 1 ms', () => {
    expect([timerDelay(Number.NaN), timerDelay(-5), timerDelay(0.2), timerDelay(1.5)]).toEqual([1, 1, 1, 2]);
  });
});

describe('timers are cleared by the timer API that set them', () => {
  it('ClockTimer keeps the clear function of the clock as it was when the timer was set', () => {
    const cleared: string[] = [];
    const clock: Clock = {
      performance: { now: () => 0 },
      setTimeout: () => 1,
      clearTimeout: () => cleared.push('original clearTimeout'),
      setInterval: () => 2,
      clearInterval: () => cleared.push('original clearInterval'),
    };
    const timeout = ClockTimer.timeout(clock, () => undefined, 10);
    const interval = ClockTimer.interval(clock, () => undefined, 10);
    clock.clearTimeout = () => cleared.push('later clearTimeout');
    clock.clearInterval = () => cleared.push('later clearInterval');
    timeout.cancel();
    interval.cancel();
    expect(cleared).toEqual(['original clearTimeout', 'original clearInterval']);
  });

  it.each([
    ['a timer bucket', () => TokenBucketFilterFactory.create({ capacity: 1, kind: 'timer', initialTokens: 0 })],
    ['a lazy bucket with a waiter', () => new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0 })],
    ['a keyed bucket with a waiter', () => new KeyedTokenBucketFilter({ capacity: 1, initialTokens: 0 })],
  ])(
    'closing %s after fake timers were installed clears its real timer (the process can exit)',
    async (_name, create) => {
      const before = liveTimers();
      const bucket = create();
      const waiting =
        bucket instanceof KeyedTokenBucketFilter ? bucket.getToken('k') : bucket.getToken(1, { maxWait: 60_000 });
      waiting.catch(() => undefined);
      expect(liveTimers()).toBe(before + 1);
      const fake = FakeTimers.install();
      try {
        bucket.close();
      } finally {
        fake.uninstall();
      }
      await flushPromises();
      expect(liveTimers()).toBe(before);
    },
  );
});

describe('keyed buckets under hostile calls', () => {
  it('a call refused before it is queued creates, touches and evicts no key', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 1, initialTokens: 0, maxKeys: 3, clock });
    for (let key = 0; key < 3; key += 1) keyed.getToken(key).catch(() => undefined); // three keys, all waiting
    for (let key = 0; key < 3; key += 1) expect(keyed.tryGetToken(key)).toBe(false);
    const aborted = AbortSignal.abort(new Error('gone'));
    const refusals = [];
    for (let key = 100; key < 1100; key += 1) {
      refusals.push(keyed.getToken(key, 1, { maxWait: -1 }), keyed.getToken(key, 1, { signal: aborted }));
      refusals.push(keyed.getToken(key, 2), keyed.getToken(key, 1, { timeout: 5 } as never));
    }
    const settled = await Promise.allSettled(refusals);
    expect(settled.every((result) => result.status === 'rejected')).toBe(true);
    expect(keyed.size).toBe(3);
    expect(keyed.stats()).toMatchObject({ keys: 3, evictions: 0, dropped: 0, pending: 3 });
    keyed.close();
  });

  it('a key is not created on an invalid clock reading, and full keys are still dropped afterwards', async () => {
    const fake = createFakeClock();
    let broken = false;
    const clock = clockReading(() => (broken ? Number.NaN : fake.performance.now()));
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 2, refillInterval: 10, clock });
    for (let key = 0; key < 100; key += 1) keyed.tryGetToken(key);
    broken = true;
    for (let key = 100; key < 200; key += 1) {
      expect(() => keyed.tryGetToken(key)).toThrow(InvalidClockReadingError);
      await expect(keyed.getToken(key)).rejects.toBeInstanceOf(InvalidClockReadingError);
    }
    expect(keyed.size).toBe(100); // nothing created, nothing swept (no reading to sweep by)
    broken = false;
    await fake.tickAsync(20);
    expect(keyed.size).toBe(0); // every key refilled to full: all dropped
    keyed.close();
  });

  it('sweeps in bounded time on an epoch-based clock with the shortest interval', () => {
    const fake = createFakeClock();
    const epoch = 1.7e12;
    const clock = clockReading(() => epoch + fake.performance.now());
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 3, refillInterval: 0.001, clock });
    for (let key = 0; key < 1000; key += 1) keyed.tryGetToken(key, 3);
    fake.tick(1);
    expect(keyed.size).toBe(0);
    keyed.close();
  });

  it('one signal shared by callers of many keys holds one abort listener', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 1, initialTokens: 0, clock });
    const controller = new AbortController();
    const calls = Array.from({ length: 20 }, (_, key) =>
      track(keyed.getToken(key, 1, { signal: controller.signal }), clock),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('shutdown'));
    await flushPromises();
    expect(calls.every((call) => call.state === 'rejected')).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(keyed.stats()).toMatchObject({ aborted: 20, pending: 0 });
    keyed.close();
  });
});

describe('wrap() options', () => {
  const bucket = { getToken: () => Promise.resolve() };
  it.each([
    [{ maxWait: 'soon' }, RangeError, /maxWait must be a non-negative number of ms, received "soon"/],
    [{ maxWait: -1 }, RangeError, /maxWait must be a non-negative number/],
    [{ signal: 'yes' }, TypeError, /signal must be an AbortSignal, received "yes"/],
    [{ timeout: 10 }, TypeError, /Unknown wrap\(\) option "timeout"/],
  ])('wrap(bucket, fn, %j) throws at once', (options, type, message) => {
    expect(() => wrap(bucket, () => 1, options as never)).toThrow(type);
    expect(() => wrap(bucket, () => 1, options as never)).toThrow(message);
  });

  it('reads its options as own properties only', async () => {
    const calls: unknown[] = [];
    const source = {
      getToken: (count?: number, options?: unknown) => {
        calls.push([count, options]);
        return Promise.resolve();
      },
    };
    const wrapped = wrap(source, () => 'done', Object.create({ cost: 5, maxWait: 0 }) as never);
    await expect(wrapped()).resolves.toBe('done');
    expect(calls).toEqual([[1, undefined]]);
  });
});
