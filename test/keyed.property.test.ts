import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { createFakeClock } from './support/clock.js';
import {
  bucketTarget,
  expectSameRun,
  perKeyTarget,
  runOps,
  scenarioArb,
  type DiffTarget,
} from './support/differential.js';

/** The keys of the scenarios; a step's `key` is an index into them (an object key among them). */
const KEYS: readonly unknown[] = ['a', { user: 'b' }, 3];
const scenario = scenarioArb({ keys: KEYS.length, maxLimits: 2, reconfigure: true, maxOps: 50 });

/** The keyed bucket as the harness drives it: step key `i` is `KEYS[i]`. */
function keyedTarget(keyed: KeyedTokenBucketFilter): DiffTarget {
  const key = (index: number): unknown => KEYS[index];
  return {
    getToken: (index, count, options) => keyed.getToken(key(index), count, options),
    tryGetToken: (index, count) => keyed.tryGetToken(key(index), count),
    waitTime: (index, count) => keyed.waitTime(key(index), count),
    available: (index) => keyed.available(key(index)),
    pending: (index) => keyed.pending(key(index)),
    reconfigure: (options) => {
      keyed.reconfigure(options);
    },
    close: () => {
      keyed.close();
    },
  };
}

describe('KeyedTokenBucketFilter (properties)', () => {
  it('every key behaves exactly like its own lazy bucket, with several keys, limits and reconfigure (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, ops }) => {
        const lazyClock = createFakeClock();
        const lazy = KEYS.map(() => bucketTarget(new LazyTokenBucketFilter({ ...options, clock: lazyClock })));
        for (const bucket of lazy) delete bucket.stats;
        const expected = await runOps(perKeyTarget(lazy), lazyClock, ops, { keys: KEYS.length });
        const keyedClock = createFakeClock();
        const keyed = new KeyedTokenBucketFilter<unknown>({ ...options, clock: keyedClock });
        const actual = await runOps(keyedTarget(keyed), keyedClock, ops, { keys: KEYS.length });
        expectSameRun(actual, expected, 'KeyedTokenBucketFilter');
      }),
      { numRuns: 300 },
    );
  });

  it('memory returns to zero keys once every bucket is full and idle', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, ops }) => {
        const clock = createFakeClock();
        const keyed = new KeyedTokenBucketFilter<unknown>({ ...options, clock });
        let sizeWhenIdle = -1;
        let statsWhenIdle: ReturnType<typeof keyed.stats> | undefined;
        // After the last op, runOps() waits 60 s: queues drain; then wait until every limit has refilled.
        const limits = 'limits' in options ? options.limits : [options];
        const longestFill = Math.max(
          ...limits.map((l) => Math.ceil(l.capacity / (l.refillTokens ?? 1)) * (l.refillInterval ?? 1000)),
        );
        await runOps(keyedTarget(keyed), clock, ops, {
          keys: KEYS.length,
          beforeClose: () => {
            clock.tick(3 * 400 * 6);
            expect(longestFill).toBeLessThanOrEqual(3 * 400 * 6);
            sizeWhenIdle = keyed.size;
            statsWhenIdle = keyed.stats();
          },
        });
        expect(sizeWhenIdle).toBe(0);
        expect(statsWhenIdle).toMatchObject({ keys: 0, pending: 0, evictions: 0 });
      }),
      { numRuns: 200 },
    );
  });

  it('with maxKeys, holds at most maxKeys keys while nobody waits, and answers exactly as without it until a bucket that was not full is evicted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 12 }), ms: fc.integer({ min: 0, max: 150 }) }), {
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 5 }),
        (calls, maxKeys) => {
          const clock = createFakeClock();
          const options = { capacity: 2, refillInterval: 100, clock };
          const bounded = new KeyedTokenBucketFilter<number>({ ...options, maxKeys });
          const unbounded = new KeyedTokenBucketFilter<number>(options);
          for (const { key, ms } of calls) {
            clock.tick(ms);
            const outcome = bounded.tryGetToken(key);
            const expected = unbounded.tryGetToken(key);
            expect(bounded.size).toBeLessThanOrEqual(maxKeys);
            if (bounded.stats().evictions === 0) expect(outcome).toBe(expected);
            // Being evicted only ever forgets spent tokens: the bounded bucket is never stricter.
            if (expected) expect(outcome).toBe(true);
          }
          const { keys, dropped, evictions } = bounded.stats();
          expect(keys).toBe(bounded.size);
          // Every key called was given a bucket (a first tryGetToken always takes from a new one), and every
          // bucket is still held, dropped once full, or evicted: none is lost from the counts.
          expect(dropped + evictions + keys).toBeGreaterThanOrEqual(new Set(calls.map((c) => c.key)).size);
          bounded.close();
          unbounded.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});
