import { describe, expect, it } from 'vitest';
import { BucketClosedError, MaxWaitExceededError } from '../src/errors.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { TokenBucketFilterFactory } from '../src/TokenBucketFilterFactory.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

describe('KeyedTokenBucketFilter', () => {
  it('keeps one bucket per key: keys never share tokens or queues', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, refillInterval: 1000, clock });
    expect(keyed.tryGetToken('alice')).toBe(true);
    expect(keyed.tryGetToken('alice')).toBe(false);
    expect(keyed.tryGetToken('bob')).toBe(true);
    const alice = track(keyed.getToken('alice'), clock);
    const carol = track(keyed.getToken('carol'), clock);
    await flushPromises();
    expect(carol).toMatchObject({ state: 'granted', at: 0 });
    expect(keyed.pending('alice')).toBe(1);
    expect(keyed.waitTime('alice')).toBe(2000);
    expect(keyed.waitTime('dave')).toBe(0);
    await clock.tickAsync(1000);
    expect(alice).toMatchObject({ state: 'granted', at: 1000 });
    keyed.close();
  });

  it('accepts any Map key: objects by identity, NaN, undefined, symbols', () => {
    const keyed = new KeyedTokenBucketFilter({ capacity: 1, clock: createFakeClock() });
    const object = { id: 1 };
    const symbol = Symbol('s');
    for (const key of [object, Number.NaN, undefined, symbol, 0, '0']) expect(keyed.tryGetToken(key)).toBe(true);
    expect(keyed.tryGetToken({ id: 1 })).toBe(true); // another object, another key
    for (const key of [object, Number.NaN, undefined, symbol, 0, '0']) expect(keyed.tryGetToken(key)).toBe(false);
    expect(keyed.size).toBe(7);
    keyed.close();
  });

  it('queries (available, pending, waitTime) create no bucket', () => {
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 3, initialTokens: 1, clock: createFakeClock() });
    expect(keyed.available('x')).toBe(1);
    expect(keyed.pending('x')).toBe(0);
    expect(keyed.waitTime('x', 3)).toBe(2000);
    expect(keyed.size).toBe(0);
    keyed.close();
  });

  it('drops a full idle bucket at the first call after it is certainly full, and the new one is identical', () => {
    const clock = createFakeClock();
    // Full 3000 ms after the last use at the latest: ceil(capacity 5 / 2 tokens) = 3 steps of 1000 ms.
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 5, refillTokens: 2, refillInterval: 1000, clock });
    expect(keyed.tryGetToken('a', 5)).toBe(true);
    clock.tick(500);
    expect(keyed.tryGetToken('b', 1)).toBe(true);
    expect(keyed.size).toBe(2);
    clock.tick(2499); // 2999: 'a' is full (5 tokens since 2000) but might not be by the bound
    expect(keyed.size).toBe(2);
    clock.tick(1); // 3000: 'a' is dropped; 'b' (last used at 500) is kept
    expect(keyed.size).toBe(1);
    expect(keyed.stats()).toMatchObject({ keys: 1, dropped: 1, evictions: 0 });
    // 'a' comes back on the shared schedule, exactly as if it had never left.
    expect(keyed.available('a')).toBe(5);
    expect(keyed.tryGetToken('a', 5)).toBe(true);
    expect(keyed.waitTime('a', 2)).toBe(1000);
    clock.tick(500); // 3500: 'b' (last used at 500) is certainly full
    expect(keyed.size).toBe(1);
    keyed.close();
  });

  it('holds no timer while nobody waits, and one per waiting key', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 1, refillInterval: 100, clock });
    for (let key = 0; key < 1000; key += 1) keyed.tryGetToken(key);
    expect(clock.countTimers()).toBe(0);
    const waits = [track(keyed.getToken(1), clock), track(keyed.getToken(1), clock), track(keyed.getToken(2), clock)];
    expect(clock.countTimers()).toBe(2);
    await clock.tickAsync(200);
    expect(waits.map((w) => w.at)).toEqual([100, 200, 100]);
    expect(clock.countTimers()).toBe(0);
    keyed.close();
  });

  it('with initialTokens below capacity, drops nothing until a new bucket would be full', () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 4, initialTokens: 0, refillInterval: 100, clock });
    clock.tick(400); // a key first used now already holds 4 tokens, as its own bucket created at 0 would
    expect(keyed.available('a')).toBe(4);
    expect(keyed.tryGetToken('a', 1)).toBe(true);
    clock.tick(400);
    expect(keyed.size).toBe(0);
    keyed.close();
  });

  describe('maxKeys', () => {
    it('evicts the least recently used key, counting it only when its bucket was not full', () => {
      const clock = createFakeClock();
      const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, refillInterval: 1000, maxKeys: 2, clock });
      keyed.tryGetToken('a');
      keyed.tryGetToken('b');
      keyed.tryGetToken('a'); // 'a' is now the most recently used
      keyed.tryGetToken('c'); // evicts 'b', which held 1 of 2 tokens
      expect(keyed.size).toBe(2);
      expect(keyed.stats()).toMatchObject({ keys: 2, evictions: 1, dropped: 0 });
      expect(keyed.available('a')).toBe(0);
      expect(keyed.available('b')).toBe(2); // forgotten: the one case where a limit can be exceeded
      expect(keyed.tryGetToken('b', 2)).toBe(true); // evicts 'a' (empty)
      expect(keyed.stats()).toMatchObject({ evictions: 2 });
      keyed.close();
    });

    it('never evicts a key whose callers are queued', async () => {
      const clock = createFakeClock();
      const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, refillInterval: 1000, maxKeys: 1, clock });
      keyed.tryGetToken('a');
      const queued = track(keyed.getToken('a'), clock);
      expect(keyed.tryGetToken('b')).toBe(true); // nothing evictable: size goes above maxKeys
      expect(keyed.size).toBe(2);
      await clock.tickAsync(1000);
      expect(queued).toMatchObject({ state: 'granted', at: 1000 });
      keyed.tryGetToken('c'); // 'b' is full and dropped; 'a' (empty since its grant) is evicted
      expect(keyed.size).toBe(1);
      expect(keyed.stats()).toMatchObject({ dropped: 1, evictions: 1 });
      keyed.close();
    });
  });

  it('close() rejects every queued caller of every key, stops every timer and forgets every key', async () => {
    const clock = createFakeClock();
    const keyed = TokenBucketFilterFactory.createKeyed<string>({ capacity: 1, initialTokens: 0, clock });
    const queued = ['a', 'b', 'a'].map((key) => track(keyed.getToken(key), clock));
    keyed.close();
    await flushPromises();
    expect(queued.every((q) => q.error instanceof BucketClosedError)).toBe(true);
    expect(clock.countTimers()).toBe(0);
    expect(keyed.size).toBe(0);
    expect(keyed.stats()).toMatchObject({ closed: 3, pending: 0, keys: 0 });
    await expect(keyed.getToken('a')).rejects.toThrow(BucketClosedError);
    expect(() => keyed.tryGetToken('a')).toThrow(BucketClosedError);
    expect(() => keyed.waitTime('a')).toThrow(BucketClosedError);
    expect(() => keyed.reconfigure({ capacity: 2 })).toThrow(BucketClosedError);
    expect(keyed.available('a')).toBe(0);
    expect(() => keyed.close()).not.toThrow();
  });

  it('validates counts before creating a bucket, and rejects rather than throws from getToken', async () => {
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, clock: createFakeClock() });
    await expect(keyed.getToken('a', 3)).rejects.toThrow(/capacity \(2\), received 3/);
    expect(() => keyed.tryGetToken('a', 0)).toThrow(RangeError);
    expect(() => keyed.waitTime('a', 1.5)).toThrow(RangeError);
    expect(keyed.size).toBe(0);
    keyed.close();
  });

  it.each([
    [{ capacity: 1, maxKeys: 0 }, RangeError, 'maxKeys must be a positive safe integer, received 0'],
    [{ capacity: 1, maxKeys: '5' }, TypeError, 'maxKeys must be a positive safe integer, received "5"'],
    [{ capacity: 1, kind: 'timer' }, TypeError, 'kind is not an option of a keyed bucket'],
    [{ capacity: 0 }, RangeError, 'capacity must be a positive safe integer, received 0'],
    [{ limits: [] }, TypeError, 'limits must be a non-empty array'],
    [null, TypeError, 'options must be an object, received null'],
  ])('rejects bad options %j', (options, errorClass, message) => {
    expect(() => new KeyedTokenBucketFilter(options as never)).toThrow(errorClass);
    expect(() => new KeyedTokenBucketFilter(options as never)).toThrow(message);
  });

  it('reconfigure() changes every key, including keys it does not hold, and re-plans their queues', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 4, refillInterval: 1000, clock });
    keyed.tryGetToken('a', 4);
    const a = track(keyed.getToken('a', 2), clock); // due at 2000 under the old rate
    const tooLate = track(keyed.getToken('a', 1, { maxWait: 3000 }), clock); // due at 3000
    await clock.tickAsync(500);
    keyed.reconfigure({ capacity: 2, refillInterval: 2000 });
    await flushPromises();
    expect(keyed.capacity).toBe(2);
    expect(tooLate.error).toBeInstanceOf(MaxWaitExceededError); // would now come at 6500
    expect(keyed.available('z')).toBe(2); // a new key: full bucket (4 tokens capped at 2)
    await clock.tickAsync(4000);
    expect(a).toMatchObject({ state: 'granted', at: 4500 });
    expect(keyed.stats()).toMatchObject({ maxWaitExceeded: 1, granted: 2, tokensGranted: 6 });
    keyed.close();
  });

  it('stats() adds up every key, and counts survive dropped buckets', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<number>({ capacity: 2, refillInterval: 100, clock });
    for (let key = 0; key < 10; key += 1) keyed.tryGetToken(key, 2);
    expect(keyed.tryGetToken(3)).toBe(false);
    const controller = new AbortController();
    const aborted = track(keyed.getToken(4, 1, { signal: controller.signal }), clock);
    expect(keyed.stats()).toMatchObject({ tokensGranted: 20, granted: 10, denied: 1, pending: 1, keys: 10 });
    controller.abort();
    await flushPromises();
    expect(aborted.state).toBe('rejected');
    await clock.tickAsync(1000);
    expect(keyed.stats()).toEqual({
      tokensGranted: 20,
      granted: 10,
      denied: 1,
      maxWaitExceeded: 0,
      queueFull: 0,
      aborted: 1,
      closed: 0,
      overCapacity: 0,
      pending: 0,
      keys: 0,
      dropped: 10,
      evictions: 0,
    });
    keyed.close();
  });
});
