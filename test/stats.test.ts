import { describe, expect, it } from 'vitest';
import { QueueFullError } from '../src/errors.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import type { ReconfigurableTokenBucketFilter } from '../src/TokenBucketFilter.js';
import type { TokenBucketOptions } from '../src/types/options.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';

type Create = (options: TokenBucketOptions & { clock: FakeClock }) => ReconfigurableTokenBucketFilter;
const kinds: Array<[string, Create]> = [
  ['LazyTokenBucketFilter', (options) => new LazyTokenBucketFilter(options)],
  ['TimerTokenBucketFilter', (options) => new TimerTokenBucketFilter(options).start()],
  ['SharedTokenBucketFilter', (options) => new SharedTokenBucketFilter(options)],
];

describe.each(kinds)('stats() (%s)', (_name, create) => {
  it('starts at zero', () => {
    const bucket = create({ capacity: 1, clock: createFakeClock() });
    expect(bucket.stats()).toEqual({
      tokensGranted: 0,
      granted: 0,
      denied: 0,
      maxWaitExceeded: 0,
      queueFull: 0,
      aborted: 0,
      closed: 0,
      overCapacity: 0,
      pending: 0,
    });
    bucket.close();
  });

  it('counts every way a call ends', async () => {
    const clock = createFakeClock();
    const bucket = create({ capacity: 3, refillInterval: 100, maxQueue: 3, clock });
    expect(bucket.tryGetToken(2)).toBe(true); // granted 2 tokens
    await bucket.getToken(1); // granted 1
    expect(bucket.tryGetToken()).toBe(false); // denied
    await expect(bucket.getToken(1, { maxWait: 50 })).rejects.toThrow(); // maxWaitExceeded
    const queued = track(bucket.getToken(2), clock); // granted at 200
    const controller = new AbortController();
    const aborted = track(bucket.getToken(1, { signal: controller.signal }), clock);
    const tooBig = track(bucket.getToken(3), clock);
    expect(bucket.stats()).toMatchObject({ pending: 3 });
    await expect(bucket.getToken(1)).rejects.toThrow(QueueFullError); // queueFull
    controller.abort();
    await flushPromises();
    bucket.reconfigure({ capacity: 2 }); // tooBig: overCapacity
    await clock.tickAsync(200);
    const closedOne = track(bucket.getToken(2), clock);
    const closedTwo = track(bucket.getToken(2), clock);
    expect(bucket.stats()).toEqual({
      tokensGranted: 5,
      granted: 3,
      denied: 1,
      maxWaitExceeded: 1,
      queueFull: 1,
      aborted: 1,
      closed: 0,
      overCapacity: 1,
      pending: 2,
    });
    bucket.close();
    await flushPromises();
    expect([queued.state, aborted.state, tooBig.state, closedOne.state, closedTwo.state]).toEqual([
      'granted',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(bucket.stats()).toMatchObject({ closed: 2, pending: 0 });
  });

  it('returns a snapshot: later calls do not change an earlier result', () => {
    const bucket = create({ capacity: 2, clock: createFakeClock() });
    const before = bucket.stats();
    bucket.tryGetToken();
    expect(before.granted).toBe(0);
    expect(bucket.stats().granted).toBe(1);
    bucket.close();
  });
});
