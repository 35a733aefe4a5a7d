import { describe, expect, it } from 'vitest';
import {
  KeyedTokenBucketFilter,
  LazyTokenBucketFilter,
  TimerTokenBucketFilter,
  TokenBucketFilterFactory,
  type BucketObserver,
} from '../src/index.js';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter, type RedisScriptRunner } from '../src/redis/index.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

// What the conformance suite (test/conformance/eventsSuite.ts) cannot see through one bucket: the
// option's validation on every constructor, how its methods are read, the key of a keyed bucket,
// whose events a shared or Redis instance reports, and the Redis store's grants without Redis.

/** A runner for which Redis is down: every call fails at once. */
const downRunner: RedisScriptRunner = {
  evalsha: () => Promise.reject(new Error('Redis is down')),
  eval: () => Promise.reject(new Error('Redis is down')),
};

const constructors: Array<[string, (observer: unknown) => unknown]> = [
  ['LazyTokenBucketFilter', (observer) => new LazyTokenBucketFilter({ capacity: 1, observer } as never)],
  ['TimerTokenBucketFilter', (observer) => new TimerTokenBucketFilter({ capacity: 1, observer } as never)],
  [
    'TokenBucketFilterFactory.create',
    (observer) => TokenBucketFilterFactory.create({ capacity: 1, observer } as never),
  ],
  ['KeyedTokenBucketFilter', (observer) => new KeyedTokenBucketFilter({ capacity: 1, observer } as never)],
  [
    'two limits',
    (observer) => new LazyTokenBucketFilter({ limits: [{ capacity: 1 }, { capacity: 2 }], observer } as never),
  ],
  ['SharedTokenBucketFilter', (observer) => new SharedTokenBucketFilter({ capacity: 1, observer } as never)],
  [
    'SharedTokenBucketFilter.from',
    (observer) =>
      SharedTokenBucketFilter.from(new SharedTokenBucketFilter({ capacity: 1 }).handle, { observer } as never),
  ],
  [
    'RedisTokenBucketFilter',
    (observer) => new RedisTokenBucketFilter({ client: downRunner, key: 'k', capacity: 1, observer } as never),
  ],
  [
    'RedisKeyedTokenBucketFilter',
    (observer) => new RedisKeyedTokenBucketFilter({ client: downRunner, capacity: 1, observer } as never),
  ],
];

describe('observer: validation, the same on every constructor', () => {
  it.each(constructors)('%s refuses what is not an observer with a TypeError naming it', (_name, create) => {
    const known = 'granted, refused, queued, aborted, closed';
    expect(() => create(5)).toThrow(
      new TypeError(`observer must be an object with any of the methods ${known}, received 5`),
    );
    expect(() => create(null)).toThrow(/observer must be an object .* received null/);
    expect(() => create(() => undefined)).toThrow(/observer must be an object/);
    expect(() => create({})).toThrow(new TypeError(`observer has none of the methods ${known}`));
    expect(() => create({ grant: () => undefined })).toThrow(`observer has none of the methods ${known}`);
    expect(() => create({ granted: 'yes' })).toThrow(
      new TypeError('observer.granted must be a function, received "yes"'),
    );
    expect(() => create({ granted: () => undefined, closed: 1 })).toThrow(
      'observer.closed must be a function, received 1',
    );
  });
});

describe('observer: how its methods are read', () => {
  it('takes a class instance, its methods bound to it, read once at construction', () => {
    class Counts implements BucketObserver {
      grants = 0;
      granted(count: number): void {
        this.grants += count;
      }
    }
    const counts = new Counts();
    const bucket = new LazyTokenBucketFilter({ capacity: 3, observer: counts, clock: createFakeClock() });
    bucket.tryGetToken(2);
    counts.granted = () => {
      throw new Error('read once: never called');
    };
    bucket.tryGetToken(1);
    expect(counts.grants).toBe(3);
    bucket.close();
  });

  it('never takes a method from a polluted Object.prototype', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    const heard: string[] = [];
    let bucket: LazyTokenBucketFilter;
    try {
      prototype['granted'] = () => heard.push('granted, from the prototype');
      bucket = new LazyTokenBucketFilter({
        capacity: 1,
        clock: createFakeClock(),
        observer: { refused: (_count, reason) => heard.push(`refused ${reason}`) },
      });
      expect(() => new LazyTokenBucketFilter({ capacity: 1, observer: {} })).toThrow(/has none of the methods/);
    } finally {
      delete prototype['granted'];
    }
    bucket.tryGetToken();
    bucket.tryGetToken();
    expect(heard).toEqual(['refused denied']);
    bucket.close();
  });
});

describe('observer: whose events, and the key', () => {
  it('tells a keyed bucket the key of each event, and its close once for every key', async () => {
    const clock = createFakeClock();
    const heard: string[] = [];
    const keyed = new KeyedTokenBucketFilter<string>({
      capacity: 1,
      initialTokens: 0,
      clock,
      observer: {
        granted: (count, waitedMs, key) => heard.push(`${key}: granted ${count} after ${waitedMs}`),
        queued: (count, queueLength, key) => heard.push(`${key}: queued ${count} (${queueLength})`),
        refused: (count, reason, key) => heard.push(`${key}: refused ${count} ${reason}`),
        closed: (pendingRejected) => heard.push(`closed ${pendingRejected}`),
      },
    });
    const alice = track(keyed.getToken('alice'), clock);
    expect(keyed.tryGetToken('bob')).toBe(false);
    await clock.tickAsync(1000);
    expect(alice.at).toBe(1000);
    track(keyed.getToken('alice'), clock);
    track(keyed.getToken('bob'), clock);
    track(keyed.getToken('bob'), clock);
    keyed.close();
    await flushPromises();
    expect(heard).toEqual([
      'alice: queued 1 (1)',
      'bob: refused 1 denied',
      'alice: granted 1 after 1000',
      'alice: queued 1 (1)',
      'bob: granted 1 after 0', // bob's bucket, created empty at 0 ms, has its token of 1000 ms
      'bob: queued 1 (1)', // each key's queueLength is its own
      'closed 2',
    ]);
  });

  it("reports what one shared-bucket instance's calls do, to that instance's observer", async () => {
    const clock = createFakeClock();
    const mine: string[] = [];
    const theirs: string[] = [];
    const observe = (into: string[]): BucketObserver => ({
      granted: (count, waitedMs) => into.push(`granted ${count} after ${waitedMs}`),
      queued: (count) => into.push(`queued ${count}`),
      closed: (pendingRejected) => into.push(`closed ${pendingRejected}`),
    });
    const a = new SharedTokenBucketFilter({ capacity: 1, initialTokens: 0, clock, observer: observe(mine) });
    const b = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock, observer: observe(theirs) });
    const unobserved = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock });
    track(a.getToken(), clock);
    track(b.getToken(), clock);
    track(unobserved.getToken(), clock);
    track(b.getToken(), clock);
    await clock.tickAsync(2000);
    a.close(); // b notices at once (Atomics.waitAsync), and rejects its own caller
    await new Promise((resolve) => setImmediate(resolve));
    await flushPromises();
    expect(mine).toEqual(['queued 1', 'granted 1 after 1000', 'closed 0']);
    expect(theirs).toEqual(['queued 1', 'queued 1', 'granted 1 after 2000', 'closed 1']);
  });
});

describe('observer: Redis grants that no reservation made', () => {
  it("failMode 'open' grants are reported as granted (as stats() counts them), refusals for a down Redis are not", async () => {
    const clock = createFakeClock();
    const heard: string[] = [];
    const observer: BucketObserver = {
      granted: (count, waitedMs) => heard.push(`granted ${count} after ${waitedMs}`),
      refused: (count, reason) => heard.push(`refused ${count} ${reason}`),
    };
    const common = { client: downRunner, key: 'k', capacity: 2, timeSource: 'client' as const, clock, observer };
    const open = new RedisTokenBucketFilter({ ...common, failMode: 'open' });
    await open.getToken(2);
    expect(await open.tryGetToken()).toBe(true);
    const closed = new RedisTokenBucketFilter({ ...common, breakerCooldown: 0 });
    await expect(closed.getToken()).rejects.toThrow(/unavailable/i); // not counted, not reported
    expect(await closed.tryGetToken()).toBe(false); // counted as denied
    expect(heard).toEqual(['granted 2 after 0', 'granted 1 after 0', 'refused 1 denied']);
    expect(open.stats()).toMatchObject({ granted: 2, tokensGranted: 3, denied: 0 });
    expect(closed.stats()).toMatchObject({ granted: 0, denied: 1 });
    open.close();
    closed.close();
  });
});
