import { describe, expect, it } from 'vitest';
import { BucketClosedError, MaxWaitExceededError } from '../src/errors.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import type { ReconfigurableTokenBucketFilter } from '../src/TokenBucketFilter.js';
import type { MultiLimitOptions, TokenBucketOptions } from '../src/types/options.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';

type Create = (
  options: (TokenBucketOptions | MultiLimitOptions) & { clock: FakeClock },
) => ReconfigurableTokenBucketFilter;
const kinds: Array<[string, Create]> = [
  ['LazyTokenBucketFilter', (options) => new LazyTokenBucketFilter(options)],
  ['TimerTokenBucketFilter', (options) => new TimerTokenBucketFilter(options).start()],
  ['SharedTokenBucketFilter', (options) => new SharedTokenBucketFilter(options)],
];

describe.each(kinds)('reconfigure() (%s)', (_name, create) => {
  function setup(options: TokenBucketOptions | MultiLimitOptions) {
    const clock = createFakeClock();
    return { clock, bucket: create({ ...options, clock }) };
  }

  it('carries the tokens over, capped at the new capacity', async () => {
    const { clock, bucket } = setup({ capacity: 10, initialTokens: 7 });
    bucket.reconfigure({ capacity: 5 });
    expect(bucket.capacity).toBe(5);
    expect(bucket.available).toBe(5);
    bucket.reconfigure({ capacity: 20 });
    expect(bucket.available).toBe(5);
    await clock.tickAsync(1000);
    expect(bucket.available).toBe(6);
    bucket.close();
  });

  it('restarts the schedule from the call: the first new step comes one new interval later', async () => {
    const { clock, bucket } = setup({ capacity: 10, refillInterval: 1000, initialTokens: 0 });
    await clock.tickAsync(1700); // 1 token (step at 1000); the next old step would be at 2000
    bucket.reconfigure({ refillTokens: 3, refillInterval: 500 });
    // Rows: [atMs, expected available]
    for (const [atMs, available] of [
      [2000, 1],
      [2199, 1],
      [2200, 4],
      [2700, 7],
      [3200, 10],
      [3700, 10],
    ] as const) {
      await clock.tickAsync(atMs - clock.performance.now());
      expect(bucket.available, `available at ${atMs} ms`).toBe(available);
    }
    bucket.close();
  });

  it('re-plans queued callers under the new rate, in the same order', async () => {
    const { clock, bucket } = setup({ capacity: 4, refillInterval: 1000, initialTokens: 0 });
    const order: number[] = [];
    const calls = [2, 1, 3].map((count, i) =>
      track(
        bucket.getToken(count).then(() => order.push(i)),
        clock,
      ),
    );
    await clock.tickAsync(500);
    expect(bucket.waitTime(1)).toBe(6500); // ahead: 2 at 2000, 1 at 3000, 3 at 6000
    bucket.reconfigure({ refillTokens: 2, refillInterval: 200 }); // steps at 700, 900, 1100, ...
    // 2 tokens at 700, 1 of 2 at 900, 3 (1 left + 2) at 1100; one more token comes at 1300.
    expect(bucket.waitTime(1)).toBe(800);
    await clock.tickAsync(1000);
    expect(calls.map((c) => c.at)).toEqual([700, 900, 1100]);
    expect(order).toEqual([0, 1, 2]);
    bucket.close();
  });

  it('grants at once the queued callers the carried tokens already cover', async () => {
    const { clock, bucket } = setup({ capacity: 6, refillInterval: 1000, initialTokens: 3 });
    const big = track(bucket.getToken(5), clock);
    await flushPromises();
    expect(big.state).toBe('pending');
    bucket.reconfigure({ capacity: 3 }); // 5 > new capacity: RangeError, the bucket keeps its 3 tokens
    const small = track(bucket.getToken(3), clock);
    await flushPromises();
    expect(big.error).toBeInstanceOf(RangeError);
    expect((big.error as Error).message).toBe('count must not exceed the new capacity (3), received 5');
    expect(small).toMatchObject({ state: 'granted', at: 0 });
    bucket.close();
  });

  it("re-checks maxWait from each caller's call: too late now rejects with MaxWaitExceededError, the rest move up", async () => {
    const { clock, bucket } = setup({ capacity: 2, refillInterval: 100, initialTokens: 0 });
    const first = track(bucket.getToken(2, { maxWait: 850 }), clock); // due at 200
    const second = track(bucket.getToken(1, { maxWait: 350 }), clock); // due at 300
    const third = track(bucket.getToken(1), clock); // due at 400
    await clock.tickAsync(50);
    bucket.reconfigure({ refillInterval: 400 }); // steps at 450, 850, ...
    await flushPromises();
    // first: 2 tokens at 850, exactly its maxWait after its call (kept); second: would be 1250 > 350.
    expect(second.error).toBeInstanceOf(MaxWaitExceededError);
    expect(second.error).toMatchObject({ waitTime: 1250, maxWait: 350 });
    await clock.tickAsync(1200);
    expect(first.at).toBe(850);
    expect(third.at).toBe(1250);
    expect(bucket.stats()).toMatchObject({ maxWaitExceeded: 1, granted: 2 });
    bucket.close();
  });

  it("a caller refused by reconfigure() is told the wait counted from its own call, not the bucket's creation", async () => {
    const { clock, bucket } = setup({ capacity: 1, refillInterval: 100, initialTokens: 0 });
    await clock.tickAsync(30);
    const late = track(bucket.getToken(1, { maxWait: 200 }), clock); // called at 30, due at 100
    await clock.tickAsync(20);
    bucket.reconfigure({ refillInterval: 400 }); // from 50: the first step at 450, 420 ms after the call
    await flushPromises();
    expect(late.error).toBeInstanceOf(MaxWaitExceededError);
    expect(late.error).toMatchObject({ waitTime: 420, maxWait: 200 });
    bucket.close();
  });

  it('accepts { limits } to switch between one limit and several', async () => {
    const { clock, bucket } = setup({ capacity: 5, refillInterval: 100 });
    bucket.reconfigure({
      limits: [
        { capacity: 5, refillInterval: 100 },
        { capacity: 3, refillTokens: 3, refillInterval: 1000 },
      ],
    });
    expect(bucket.capacity).toBe(3);
    expect(bucket.available).toBe(3); // limit 0 carries 5; limit 1 is new and starts full
    expect(bucket.tryGetToken(3)).toBe(true);
    await clock.tickAsync(500);
    expect(bucket.available).toBe(0);
    await clock.tickAsync(500);
    expect(bucket.available).toBe(3);
    expect(() => bucket.reconfigure({ capacity: 2 })).toThrow(/has 2 limits: reconfigure it with \{ limits/);
    bucket.reconfigure({ limits: [{ capacity: 1 }] });
    expect(bucket.capacity).toBe(1);
    bucket.close();
  });

  it('validates eagerly and changes nothing on a bad option', () => {
    const { bucket } = setup({ capacity: 5, initialTokens: 2 });
    expect(() => bucket.reconfigure({ capacity: 0 })).toThrow('capacity must be a positive safe integer, received 0');
    expect(() => bucket.reconfigure({ refillInterval: Number.NaN })).toThrow(RangeError);
    expect(() => bucket.reconfigure({ initialTokens: 1 } as never)).toThrow('Unknown option "initialTokens"');
    expect(() => bucket.reconfigure({ limits: [{ capacity: 1, initialTokens: 1 }] } as never)).toThrow(
      'Unknown option "initialTokens" in limits[0]',
    );
    expect(() => bucket.reconfigure(null as never)).toThrow('options must be an object, received null');
    expect(bucket.capacity).toBe(5);
    expect(bucket.available).toBe(2);
    bucket.close();
    expect(() => bucket.reconfigure({ capacity: 1 })).toThrow(BucketClosedError);
  });

  it('leaves no extra timer behind', async () => {
    const { clock, bucket } = setup({ capacity: 1, initialTokens: 0 });
    const queued = track(bucket.getToken(), clock);
    const before = clock.countTimers();
    for (let i = 1; i <= 5; i += 1) bucket.reconfigure({ refillInterval: 100 * i });
    expect(clock.countTimers()).toBe(before);
    await clock.tickAsync(500);
    expect(queued.at).toBe(500);
    bucket.close();
    expect(clock.countTimers()).toBe(0);
  });
});

describe('reconfigure() on a timer bucket', () => {
  it('works before start(), and start() then runs on the new schedule', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 2, initialTokens: 0, clock });
    await clock.tickAsync(300);
    bucket.reconfigure({ refillInterval: 100 });
    expect(clock.countTimers()).toBe(0);
    bucket.start();
    const granted = track(bucket.getToken(2), clock);
    await clock.tickAsync(200);
    expect(granted.at).toBe(500);
    bucket.close();
  });
});
