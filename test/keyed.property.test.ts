import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import type { MultiLimitOptions, ReconfigureOptions, RefillLimit } from '../src/TokenBucketFilter.js';
import { createFakeClock, flushPromises, type FakeClock } from './support/clock.js';

const KEYS = ['a', 'b', 'c'] as const;
type Key = (typeof KEYS)[number];

type Op =
  | { kind: 'get'; key: Key; count: number; abortable: boolean; maxWait: number | undefined }
  | { kind: 'try'; key: Key; count: number }
  | { kind: 'wait'; key: Key; count: number }
  | { kind: 'abort'; index: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'reconfigure'; limits: Array<Omit<RefillLimit, 'initialTokens'>> };

const limit = fc.record({
  capacity: fc.integer({ min: 1, max: 6 }),
  refillTokens: fc.integer({ min: 1, max: 4 }),
  refillInterval: fc.integer({ min: 1, max: 400 }),
});

const scenario = fc
  .record({
    limits: fc.array(fc.record({ limit, initial: fc.double({ min: 0, max: 1, noNaN: true }) }), {
      minLength: 1,
      maxLength: 2,
    }),
  })
  .chain(({ limits }) => {
    const capacity = Math.min(...limits.map((l) => l.limit.capacity));
    const count = fc.integer({ min: 1, max: capacity });
    const key = fc.constantFrom(...KEYS);
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('get' as const),
          key,
          count,
          abortable: fc.boolean(),
          maxWait: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('try' as const), key, count }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), key, count }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('reconfigure' as const),
          limits: fc.array(limit, { minLength: 1, maxLength: 2 }),
        }),
      },
    );
    return fc.record({
      options: fc.constant<MultiLimitOptions>({
        limits: limits.map(({ limit: l, initial }) => ({ ...l, initialTokens: Math.floor(initial * l.capacity) })),
      }),
      ops: fc.array(op, { maxLength: 50 }),
    });
  });

/** The calls of one key: a keyed bucket, or one independent lazy bucket per key. */
interface PerKey {
  getToken(key: Key, count: number, options: { signal?: AbortSignal; maxWait?: number | undefined }): Promise<void>;
  tryGetToken(key: Key, count: number): boolean;
  waitTime(key: Key, count: number): number;
  available(key: Key): number;
  pending(key: Key): number;
  reconfigure(options: ReconfigureOptions): void;
  close(): void;
}

/** Returns what `call` returns, as a string, or the name of what it throws (a count above a reconfigured capacity). */
function attempt(call: () => boolean | number): string {
  try {
    return String(call());
  } catch (error) {
    return (error as Error).name;
  }
}

async function run(
  clock: FakeClock,
  subject: PerKey,
  ops: Op[],
  onIdle: () => void = () => undefined,
): Promise<string[]> {
  const log: string[] = [];
  const controllers: AbortController[] = [];
  let caller = 0;
  const at = () => clock.performance.now();
  for (const step of ops) {
    switch (step.kind) {
      case 'get': {
        const id = caller++;
        const controller = new AbortController();
        if (step.abortable) controllers.push(controller);
        subject
          .getToken(step.key, step.count, {
            ...(step.abortable ? { signal: controller.signal } : {}),
            maxWait: step.maxWait,
          })
          .then(
            () => log.push(`[${step.key}] ${at()} granted #${id}`),
            (error: unknown) => log.push(`[${step.key}] ${at()} rejected #${id} ${(error as Error).name}`),
          );
        break;
      }
      case 'try':
        log.push(
          `[${step.key}] ${at()} try(${step.count})=${attempt(() => subject.tryGetToken(step.key, step.count))}`,
        );
        break;
      case 'wait':
        log.push(
          `[${step.key}] ${at()} waitTime(${step.count})=${attempt(() => subject.waitTime(step.key, step.count))}`,
        );
        break;
      case 'abort':
        if (controllers.length > 0) controllers[step.index % controllers.length]?.abort();
        break;
      case 'advance':
        await clock.tickAsync(step.ms);
        break;
      case 'reconfigure':
        subject.reconfigure({ limits: step.limits });
        break;
    }
    await flushPromises();
    for (const key of KEYS)
      log.push(`[${key}] ${at()} available=${subject.available(key)} pending=${subject.pending(key)}`);
  }
  await clock.tickAsync(60_000);
  onIdle();
  subject.close();
  await flushPromises();
  log.push(`timers=${clock.countTimers()}`);
  return log;
}

function lazyPerKey(options: MultiLimitOptions, clock: FakeClock): PerKey {
  const buckets = new Map(KEYS.map((key) => [key, new LazyTokenBucketFilter({ ...options, clock })]));
  const of = (key: Key) => buckets.get(key) as LazyTokenBucketFilter;
  return {
    getToken: (key, count, o) => of(key).getToken(count, o),
    tryGetToken: (key, count) => of(key).tryGetToken(count),
    waitTime: (key, count) => of(key).waitTime(count),
    available: (key) => of(key).available,
    pending: (key) => of(key).pending,
    reconfigure: (o) => {
      for (const bucket of buckets.values()) bucket.reconfigure(o);
    },
    close: () => {
      for (const bucket of buckets.values()) bucket.close();
    },
  };
}

describe('KeyedTokenBucketFilter (properties)', () => {
  it('every key behaves exactly like its own lazy bucket, with several keys, limits and reconfigure (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, ops }) => {
        const lazyClock = createFakeClock();
        const expected = await run(lazyClock, lazyPerKey(options, lazyClock), ops);
        const keyedClock = createFakeClock();
        const keyed = new KeyedTokenBucketFilter<Key>({ ...options, clock: keyedClock });
        const actual = await run(keyedClock, keyed, ops);
        // Per key, the same calls settle the same way at the same instants (keys are independent, so
        // two keys granted at one instant may settle in either order).
        for (const key of [...KEYS, 'timers']) {
          const ofKey = (log: string[]) =>
            log.filter((line) => line.startsWith(`[${key}]`) || (key === 'timers' && line.startsWith(key)));
          expect(ofKey(actual)).toEqual(ofKey(expected));
        }
        expect(actual.at(-1)).toBe('timers=0');
      }),
      { numRuns: 300 },
    );
  });

  it('memory returns to zero keys once every bucket is full and idle', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, ops }) => {
        const clock = createFakeClock();
        const keyed = new KeyedTokenBucketFilter<Key>({ ...options, clock });
        let sizeWhenIdle = -1;
        let statsWhenIdle: ReturnType<typeof keyed.stats> | undefined;
        // After the last op, run() waits 60 s: queues drain; then wait until every limit has refilled.
        const longestFill = Math.max(
          ...options.limits.map((l) => Math.ceil(l.capacity / (l.refillTokens ?? 1)) * (l.refillInterval ?? 1000)),
        );
        await run(clock, keyed, ops, () => {
          clock.tick(3 * 400 * 6);
          expect(longestFill).toBeLessThanOrEqual(3 * 400 * 6);
          sizeWhenIdle = keyed.size;
          statsWhenIdle = keyed.stats();
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
          expect(dropped + evictions + keys).toBeGreaterThanOrEqual(Math.min(new Set(calls.map((c) => c.key)).size, 1));
          bounded.close();
          unbounded.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});
