import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepsAt } from '../src/core/refill.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import { TokenBucketFilterFactory } from '../src/TokenBucketFilterFactory.js';
import type { TokenBucketFilter } from '../src/TokenBucketFilter.js';
import type { MultiLimitOptions, RefillLimit } from '../src/types/options.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';
import { keyView } from './support/keyedView.js';

type Create = (options: MultiLimitOptions & { clock: FakeClock }) => TokenBucketFilter;
const kinds: Array<[string, Create]> = [
  ['lazy', (options) => new LazyTokenBucketFilter(options)],
  ['timer', (options) => new TimerTokenBucketFilter(options).start()],
  ['keyed', (options) => keyView(new KeyedTokenBucketFilter(options), 'key')],
  ['shared', (options) => new SharedTokenBucketFilter(options)],
];

// "2 per 100 ms and 5 per 1000 ms", both starting full.
const burstAndSustained: RefillLimit[] = [
  { capacity: 2, refillTokens: 2, refillInterval: 100 },
  { capacity: 5, refillTokens: 5, refillInterval: 1000 },
];

describe.each(kinds)('several limits (%s)', (_name, create) => {
  it('grants only what every limit allows, taking from all at once (table)', async () => {
    const clock = createFakeClock();
    const bucket = create({ limits: burstAndSustained, clock });
    expect(bucket.capacity).toBe(2);
    // Rows: [atMs, available, tryGetToken(count), expected]
    const rows: Array<[number, number, number, boolean]> = [
      [0, 2, 2, true], // second limit: 3 left
      [0, 0, 1, false],
      [100, 2, 2, true], // second limit: 1 left
      [200, 1, 2, false], // first limit holds 2, second 1
      [200, 1, 1, true], // second limit: 0 left
      [900, 0, 1, false], // first limit is full, second empty until 1000
      [1000, 2, 2, true], // second limit refilled to 5
    ];
    for (const [atMs, available, count, expected] of rows) {
      await clock.tickAsync(atMs - clock.performance.now());
      expect(bucket.available, `available at ${atMs} ms`).toBe(available);
      expect(bucket.tryGetToken(count), `tryGetToken(${count}) at ${atMs} ms`).toBe(expected);
    }
    bucket.close();
  });

  it('a queued caller waits until all limits allow it, in FIFO order, and waitTime() says when', async () => {
    const clock = createFakeClock();
    const bucket = create({ limits: burstAndSustained, clock });
    const outcomes = Array.from({ length: 6 }, () => track(bucket.getToken(1), clock));
    expect(bucket.waitTime(1)).toBe(1000); // 5 go by 200 ms; the 7th needs the 1000 ms step
    await clock.tickAsync(2000);
    expect(outcomes.map((o) => o.at)).toEqual([0, 0, 100, 100, 200, 1000]);
    bucket.close();
  });

  it('rejects a count above the smallest capacity', async () => {
    const clock = createFakeClock();
    const bucket = create({ limits: burstAndSustained, clock });
    await expect(bucket.getToken(3)).rejects.toThrow(/capacity \(2\), received 3/);
    bucket.close();
  });
});

describe('several limits: options', () => {
  it.each([
    [{ limits: [] }, TypeError, 'limits must be a non-empty array of limits, received an array'],
    [{ limits: 'x' }, TypeError, 'limits must be a non-empty array of limits, received "x"'],
    [{ limits: [{ capacity: 1 }, 5] }, TypeError, 'limits[1] must be an object, received 5'],
    [
      { limits: [{ capacity: 1 }, { capacity: 0 }] },
      RangeError,
      'limits[1].capacity must be a positive safe integer, received 0',
    ],
    [
      { limits: [{ capacity: 2, initialTokens: 3 }] },
      RangeError,
      'limits[0].initialTokens must be an integer from 0 to capacity (2), received 3',
    ],
    [
      { limits: [{ capacity: 1, refillInterval: -1 }] },
      RangeError,
      'limits[0].refillInterval must be a number of ms from 0.001 (1 µs) to 2^42 (about 139 years), received -1',
    ],
    [{ limits: [{ capacity: 1, burst: 2 }] }, TypeError, 'Unknown option "burst" in limits[0]'],
    [
      { limits: [{ capacity: 1 }], capacity: 3 },
      TypeError,
      'Unknown option "capacity" beside limits (with limits, give capacity inside each limit)',
    ],
  ])('%j throws %o naming the option and value', (options, errorClass, message) => {
    expect(() => new LazyTokenBucketFilter(options as never)).toThrow(errorClass);
    expect(() => new LazyTokenBucketFilter(options as never)).toThrow(message);
  });

  it('the factory builds either kind with several limits; the timer kind runs one refill timer per limit', () => {
    const clock = createFakeClock();
    const lazy = TokenBucketFilterFactory.create({ limits: burstAndSustained, clock });
    expect(lazy).toBeInstanceOf(LazyTokenBucketFilter);
    const timer = TokenBucketFilterFactory.create({ kind: 'timer', limits: burstAndSustained, clock });
    expect(timer).toBeInstanceOf(TimerTokenBucketFilter);
    expect(clock.countTimers()).toBe(0); // full, nobody waiting: nothing to refill yet
    expect(timer.tryGetToken()).toBe(true);
    expect(clock.countTimers()).toBe(2);
    timer.close();
    lazy.close();
    expect(clock.countTimers()).toBe(0);
  });
});

describe('several limits (properties)', () => {
  const limit = fc
    .record({
      capacity: fc.integer({ min: 1, max: 8 }),
      refillTokens: fc.integer({ min: 1, max: 5 }),
      refillInterval: fc.integer({ min: 1, max: 300 }),
      initialTokens: fc.integer({ min: 0, max: 8 }),
    })
    .map((l) => ({ ...l, initialTokens: Math.min(l.initialTokens, l.capacity) }));
  const calls = fc.array(
    fc.record({ count: fc.integer({ min: 1, max: 8 }), wait: fc.boolean(), ms: fc.integer({ min: 0, max: 400 }) }),
    { maxLength: 80 },
  );

  it('over any window, the tokens granted never exceed what every limit allows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(limit, { minLength: 1, maxLength: 3 }), calls, async (limits, plan) => {
        const clock = createFakeClock();
        const bucket = new LazyTokenBucketFilter({ limits, clock });
        const grants: Array<{ at: number; count: number }> = [];
        for (const { count, wait, ms } of plan) {
          const c = Math.min(count, bucket.capacity);
          if (wait) void bucket.getToken(c).then(() => grants.push({ at: clock.performance.now(), count: c }));
          else if (bucket.tryGetToken(c)) grants.push({ at: clock.performance.now(), count: c });
          await clock.tickAsync(ms);
        }
        await clock.tickAsync(100_000);
        bucket.close();
        for (const l of limits) {
          const schedule = { ...l, origin: 0 };
          for (let i = 0; i < grants.length; i += 1) {
            const first = grants[i] as { at: number };
            let total = 0;
            // Tokens held just before the window (at most the capacity, or the initial tokens plus the
            // refills so far) plus the refills inside it.
            const before = Math.min(l.capacity, l.initialTokens + l.refillTokens * stepsAt(schedule, first.at));
            for (let j = i; j < grants.length; j += 1) {
              const last = grants[j] as { at: number; count: number };
              total += last.count;
              const allowed = before + l.refillTokens * (stepsAt(schedule, last.at) - stepsAt(schedule, first.at));
              expect(total, `granted in [${first.at}, ${last.at}] ms`).toBeLessThanOrEqual(allowed);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a limit that never binds changes nothing', async () => {
    const loose: RefillLimit = { capacity: 1_000_000, refillTokens: 1_000_000, refillInterval: 2 };
    await fc.assert(
      fc.asyncProperty(limit, calls, async (only, plan) => {
        const run = async (limits: RefillLimit[]) => {
          const clock = createFakeClock();
          const bucket = new LazyTokenBucketFilter({ limits, clock });
          const log: string[] = [];
          for (const { count, wait, ms } of plan) {
            const c = Math.min(count, bucket.capacity);
            if (wait) void bucket.getToken(c).then(() => log.push(`${clock.performance.now()} granted ${c}`));
            else log.push(`${clock.performance.now()} try ${c} ${bucket.tryGetToken(c)} ${bucket.waitTime(c)}`);
            await clock.tickAsync(ms);
          }
          await clock.tickAsync(100_000);
          await flushPromises();
          bucket.close();
          return log;
        };
        expect(await run([only, loose])).toEqual(await run([only]));
      }),
      { numRuns: 150 },
    );
  });
});
