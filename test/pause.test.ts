import { describe, expect, it } from 'vitest';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import { createFakeClock, track } from './support/clock.js';

// The contract of pause() on every bucket that has it is in test/conformance/pauseSuite.ts; these are
// the parts of in-process buckets that the one-bucket suite cannot reach: several limits, keys, and
// the timer kind's timers.

const DAY = 24 * 60 * 60 * 1000;

describe('pause() with several limits', () => {
  it('caps each limit at its own refill: a fast limit resumes at its rate, a daily budget is kept', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({
      limits: [
        { capacity: 10, refillTokens: 1, refillInterval: 100 },
        { capacity: 1000, refillTokens: 1000, refillInterval: DAY },
      ],
      clock,
    });
    expect(bucket.tryGetToken(5)).toBe(true); // the day's budget: 995 left
    bucket.pause(30_000);
    expect(bucket.waitTime()).toBe(30_000);
    await clock.tickAsync(30_000);
    // The fast limit holds one refill (1 of its 10), the daily one all it had (995, under its 1000).
    expect(bucket.available).toBe(1);
    expect(bucket.tryGetToken()).toBe(true);
    expect(bucket.tryGetToken()).toBe(false);
    await clock.tickAsync(1000); // 10 steps of the fast limit: full again
    // Had the pause emptied the daily limit, nothing would come before its next step, a day away.
    expect(bucket.available).toBe(10);
    expect(bucket.tryGetToken(10)).toBe(true);
    bucket.close();
  });

  it('holds through a reconfigure() to other limits', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({
      limits: [
        { capacity: 4, refillTokens: 2, refillInterval: 100 },
        { capacity: 8, refillTokens: 8, refillInterval: 1000 },
      ],
      clock,
    });
    bucket.pause(500);
    await clock.tickAsync(100);
    bucket.reconfigure({
      limits: [
        { capacity: 6, refillTokens: 3, refillInterval: 100 },
        { capacity: 8, refillTokens: 8, refillInterval: 1000 },
      ],
    });
    expect(bucket.tryGetToken()).toBe(false);
    expect(bucket.waitTime(3)).toBe(400);
    await clock.tickAsync(400);
    expect(bucket.available).toBe(3); // one refill of the new fast limit
    bucket.close();
  });
});

describe('KeyedTokenBucketFilter.pause(key, ms)', () => {
  it('pauses that key only, creating its bucket if it has none', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 3, refillInterval: 100, clock });
    keyed.pause('alice', 1000);
    expect(keyed.size).toBe(1);
    expect(keyed.available('alice')).toBe(0);
    expect(keyed.tryGetToken('alice')).toBe(false);
    expect(keyed.waitTime('alice')).toBe(1000);
    expect(keyed.tryGetToken('bob', 3)).toBe(true);
    const alice = track(keyed.getToken('alice'), clock);
    await clock.tickAsync(999);
    expect(alice.state).toBe('pending');
    await clock.tickAsync(1);
    expect(alice).toMatchObject({ state: 'granted', at: 1000 });
    keyed.close();
  });

  it('keeps a paused key, even full, until its pause has ended', async () => {
    const clock = createFakeClock();
    // refillTokens = capacity: the cap leaves the key full, so only the pause keeps it from looking new.
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, refillTokens: 2, refillInterval: 100, clock });
    keyed.pause('alice', 5000);
    await clock.tickAsync(4000);
    expect(keyed.size, 'held during the pause').toBe(1);
    expect(keyed.tryGetToken('alice')).toBe(false);
    await clock.tickAsync(1100);
    expect(keyed.available('alice')).toBe(2);
    await clock.tickAsync(1000);
    expect(keyed.size, 'dropped once full after the pause').toBe(0);
    keyed.close();
  });

  it('rejects a bad ms or a closed bucket, creating no key', () => {
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, clock: createFakeClock() });
    expect(() => keyed.pause('alice', -5)).toThrow(
      new RangeError('pause() takes a non-negative finite number of ms, received -5'),
    );
    expect(() => keyed.pause('alice', '10' as unknown as number)).toThrow(
      new TypeError('pause() takes a number of ms, received "10"'),
    );
    expect(keyed.size).toBe(0);
    keyed.close();
    expect(() => keyed.pause('alice', 10)).toThrow('closed');
  });
});

describe('TimerTokenBucketFilter.pause()', () => {
  it('grants at the end of the pause between two ticks, then goes idle once full', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 2, refillInterval: 100, clock }).start();
    expect(clock.countTimers(), 'idle while full').toBe(0);
    bucket.pause(250);
    const waiter = track(bucket.getToken(), clock);
    await clock.tickAsync(250);
    expect(waiter).toMatchObject({ state: 'granted', at: 250 });
    await clock.tickAsync(250); // refilled to 2 by 400
    expect(bucket.available).toBe(2);
    expect(clock.countTimers(), 'idle again: full and nobody waits').toBe(0);
    bucket.close();
  });

  it('paused before start(): the pause holds once started', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, refillInterval: 100, clock });
    bucket.pause(300);
    bucket.start();
    const waiter = track(bucket.getToken(), clock);
    await clock.tickAsync(300);
    expect(waiter).toMatchObject({ state: 'granted', at: 300 });
    bucket.close();
  });
});
