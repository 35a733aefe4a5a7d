import { describe, expect, it } from 'vitest';
import { KeyedTokenBucketFilter, QueueFullError, TokenBucketFilterFactory } from '../src/index.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

// What the conformance suite (test/conformance/queueCapSuite.ts) cannot see through one bucket: whose
// queue `maxQueue` caps when several queues share tokens (the keys of a keyed bucket, the threads of a
// shared one), and the factory passing it on.

describe('maxQueue: whose queue it caps', () => {
  it('caps each key of a keyed bucket on its own', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, initialTokens: 0, maxQueue: 1, clock });
    const alice = track(keyed.getToken('alice'), clock);
    const bob = track(keyed.getToken('bob'), clock); // bob's queue is empty: bob may wait
    await expect(keyed.getToken('alice')).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 1 });
    expect(keyed.stats()).toMatchObject({ queueFull: 1, pending: 2 });
    keyed.reconfigure({ maxQueue: 2 }); // every key's cap, at once
    const aliceAgain = track(keyed.getToken('alice'), clock);
    const bobAgain = track(keyed.getToken('bob'), clock);
    await expect(keyed.getToken('bob')).rejects.toBeInstanceOf(QueueFullError);
    await clock.tickAsync(2000);
    expect([alice.at, bob.at, aliceAgain.at, bobAgain.at]).toEqual([1000, 1000, 2000, 2000]);
    keyed.close();
  });

  it.each(['lazy', 'timer'] as const)('TokenBucketFilterFactory.create() passes it on (%s)', async (kind) => {
    const clock = createFakeClock();
    const bucket = TokenBucketFilterFactory.create({ kind, capacity: 1, initialTokens: 0, maxQueue: 0, clock });
    await expect(bucket.getToken()).rejects.toBeInstanceOf(QueueFullError);
    bucket.close();
  });

  it("caps one shared-bucket instance's own queue: another thread's callers do not count", async () => {
    const clock = createFakeClock();
    const a = new SharedTokenBucketFilter({ capacity: 1, initialTokens: 0, maxQueue: 1, clock });
    const b = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock, maxQueue: 2 });
    const unbounded = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock });
    const first = track(a.getToken(), clock);
    await expect(a.getToken()).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 1, maxQueue: 1 });
    const fromB = [track(b.getToken(), clock), track(b.getToken(), clock)];
    await expect(b.getToken()).rejects.toMatchObject({ queueLength: 2, maxQueue: 2 });
    const fromUnbounded = track(unbounded.getToken(), clock);
    // Every thread's refusals are counted in the shared stats(), and nothing was reserved for them.
    expect(a.stats()).toMatchObject({ queueFull: 2, pending: 4 });
    expect(unbounded.waitTime()).toBe(5000);
    await clock.tickAsync(4000);
    expect([first.at, ...fromB.map((o) => o.at), fromUnbounded.at]).toEqual([1000, 2000, 3000, 4000]);
    a.close();
    await flushPromises();
  });

  it("from() validates its own maxQueue like every bucket's", () => {
    const bucket = new SharedTokenBucketFilter({ capacity: 1 });
    expect(() => SharedTokenBucketFilter.from(bucket.handle, { maxQueue: -1 })).toThrow(
      new RangeError('maxQueue must be a non-negative integer or Infinity, received -1'),
    );
    expect(() => SharedTokenBucketFilter.from(bucket.handle, { maxQueue: '1' as never })).toThrow(TypeError);
    expect(() => SharedTokenBucketFilter.from(bucket.handle, { maxqueue: 1 } as never)).toThrow(
      'Unknown option "maxqueue"; known options: clock, maxQueue, observer',
    );
    bucket.close();
  });
});
