import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { flushPromises, track } from './support/clock.js';

describe('an in-process bucket whose callers wait when the default clock changes under it', () => {
  let installed: ReturnType<typeof FakeTimers.install> | undefined;
  afterEach(() => {
    installed?.uninstall();
    installed = undefined;
  });

  it('re-arms its head timer on fake timers installed after it was created (lazy and one key of a keyed bucket)', async () => {
    const lazy = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 60_000, initialTokens: 0 });
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, refillInterval: 60_000, initialTokens: 0 });
    // Queued on real timers: the head timers are real ones, a minute away.
    const lazyGrant = track(lazy.getToken(), globalThis);
    const keyedGrant = track(keyed.getToken('a'), globalThis);
    installed = FakeTimers.install();
    const clock = installed;
    // The first reading under the fake clock re-bases both buckets and moves their timers onto it.
    expect(lazy.pending).toBe(1);
    expect(keyed.pending('a')).toBe(1);
    await clock.tickAsync(60_000);
    await flushPromises();
    expect(lazyGrant.state).toBe('granted');
    expect(keyedGrant.state).toBe('granted');
    lazy.close();
    keyed.close();
  });
});

describe('a closed in-process bucket', () => {
  it('reports no tokens and nobody waiting, whatever it held', async () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 3, refillInterval: 1000, initialTokens: 1 });
    const waiting = bucket.getToken(3);
    waiting.catch(() => undefined);
    expect([bucket.available, bucket.pending]).toEqual([0, 1]);
    bucket.close();
    expect([bucket.available, bucket.pending]).toEqual([0, 0]);
    const full = new LazyTokenBucketFilter({ capacity: 3 });
    expect(full.available).toBe(3);
    full.close();
    expect(full.available).toBe(0);
    await expect(waiting).rejects.toThrow('closed');
  });
});

/** A clock whose reading the test sets by hand (undefined: an invalid reading); its timers never fire. */
function handClock(): { clock: Clock; set: (now: number | undefined) => void } {
  let now: number | undefined = 0;
  return {
    clock: {
      performance: { now: () => now as number },
      setTimeout: () => ({}),
      clearTimeout: () => undefined,
      setInterval: () => ({}),
      clearInterval: () => undefined,
    },
    set: (reading) => (now = reading),
  };
}

describe('an in-process bucket at exact instants, its timers never firing', () => {
  it('tryGetToken() grants the callers due by now first, then decides on what is left', async () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 2, refillInterval: 100, initialTokens: 0, clock });
    const queued = track(bucket.getToken(), globalThis); // due at 100
    set(200); // its timer never fired: the call itself grants it (the step at 100), then takes the one at 200
    expect(bucket.tryGetToken()).toBe(true);
    await flushPromises();
    expect(queued.state).toBe('granted');
    expect(bucket.tryGetToken()).toBe(false);
    bucket.close();
  });

  it('getToken() grants the callers due by now first, then is granted at once on what is left', async () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 2, refillInterval: 100, initialTokens: 0, clock });
    const queued = track(bucket.getToken(), globalThis); // due at 100
    set(200);
    const late = track(bucket.getToken(), globalThis);
    await flushPromises();
    expect([queued.state, late.state]).toEqual(['granted', 'granted']);
    expect(bucket.pending).toBe(0);
    bucket.close();
  });

  it('a paused bucket reports nothing available while its clock gives invalid readings', () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 5, refillTokens: 2, refillInterval: 100, clock });
    bucket.pause(1000); // it will resume with 2 tokens, at 1000
    set(undefined);
    expect(bucket.available).toBe(0);
    set(1000);
    expect(bucket.available).toBe(2);
    bucket.close();
  });

  it('reconfigure() at exactly the end of a pause carries the tokens held then, not capped by the new refill', () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 5, refillInterval: 100, clock });
    bucket.pause(150); // at 150 the bucket holds 5 (one refill)
    set(150);
    bucket.reconfigure({ refillTokens: 1 }); // the pause is over: nothing to hold through the change
    expect(bucket.available).toBe(5);
    bucket.close();
  });
});
