import { getEventListeners } from 'node:events';
import { describe, expect } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { BucketClosedError, MaxWaitExceededError } from '../../src/index.js';
import { createFakeClock, track, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';
import { eventsSuite } from './eventsSuite.js';
import { hostileInputSuite } from './hostileInputSuite.js';
import { queueCapSuite } from './queueCapSuite.js';
import { suiteTools, type SuiteBucket, type SuiteFactory, type SuiteHooks } from './suiteTools.js';

const DAY = 24 * 60 * 60 * 1000;

export type { SuiteBucket, SuiteFactory, SuiteHooks } from './suiteTools.js';

/**
 * The contract of `TokenBucketFilter`, run against every implementation. Time is a fake clock driven
 * with `tickAsync`, so every expectation is at an exact instant and nothing sleeps.
 */
export function tokenBucketFilterSuite(name: string, create: SuiteFactory, hooks: SuiteHooks = {}): void {
  const { it, tick, flush, expectFailure } = suiteTools(hooks);

  describe(`${name} (conformance)`, () => {
    async function setup(options: Omit<SuiteOptions, 'clock'>): Promise<{ clock: FakeClock; bucket: SuiteBucket }> {
      const clock = createFakeClock();
      return { clock, bucket: await create({ ...options, clock }) };
    }

    describe('refill schedule', () => {
      it('starts full by default and hands out its burst at once', async () => {
        const { bucket } = await setup({ capacity: 3 });
        expect(bucket.capacity).toBe(3);
        expect(await bucket.available).toBe(3);
        expect(await bucket.tryGetToken(2)).toBe(true);
        expect(await bucket.tryGetToken()).toBe(true);
        expect(await bucket.tryGetToken()).toBe(false);
        expect(await bucket.available).toBe(0);
        bucket.close();
      });

      // Rows: [atMs, expectedAvailable before the request, request, expected outcome].
      const rows: Array<[number, number, number, boolean]> = [
        [0, 0, 1, false],
        [99, 0, 1, false],
        [100, 2, 3, false],
        [100, 2, 2, true],
        [199, 0, 1, false],
        [200, 2, 1, true],
        [300, 3, 3, true],
        [650, 3, 1, true], // 6 steps have passed, but the bucket holds at most 3
        [699, 2, 2, true],
        [700, 2, 3, false],
      ];
      it('adds refillTokens at each step, capped at capacity (table)', async () => {
        const { clock, bucket } = await setup({ capacity: 3, refillTokens: 2, refillInterval: 100, initialTokens: 0 });
        for (const [atMs, expectedAvailable, request, expected] of rows) {
          await tick(clock, atMs - clock.performance.now());
          expect(await bucket.available, `available at ${atMs} ms`).toBe(expectedAvailable);
          expect(await bucket.tryGetToken(request), `tryGetToken(${request}) at ${atMs} ms`).toBe(expected);
        }
        bucket.close();
      });

      it('is exact over 10^5 intervals of 3 tokens per 7 ms, with irregular reads and the cap', async () => {
        const capacity = 7;
        const { clock, bucket } = await setup({ capacity, refillTokens: 3, refillInterval: 7, initialTokens: 4 });
        const intervals = 100_000;
        let granted = 0;
        // Model: the same schedule computed step by step, counting what the cap throws away.
        let modelTokens = 4;
        let discarded = 0;
        let modelStep = 0;
        const ticks = [5, 11, 7, 3, 20, 1];
        let now = 0;
        for (let i = 0; now + 20 <= intervals * 7; i += 1) {
          const dt = ticks[i % ticks.length] ?? 1;
          now += dt;
          clock.tick(dt);
          const step = Math.floor(now / 7);
          for (; modelStep < step; modelStep += 1) {
            const before = modelTokens;
            modelTokens = Math.min(capacity, modelTokens + 3);
            discarded += before + 3 - modelTokens;
          }
          // Take everything on odd rounds only, so the cap is hit on the others.
          if (i % 2 === 1) {
            const take = await bucket.available;
            expect(take).toBe(modelTokens);
            if (take > 0) expect(await bucket.tryGetToken(take)).toBe(true);
            granted += take;
            modelTokens -= take;
          }
        }
        clock.tick(intervals * 7 - now);
        for (; modelStep < intervals; modelStep += 1) {
          const before = modelTokens;
          modelTokens = Math.min(capacity, modelTokens + 3);
          discarded += before + 3 - modelTokens;
        }
        const take = await bucket.available;
        expect(take).toBe(modelTokens);
        if (take > 0) expect(await bucket.tryGetToken(take)).toBe(true);
        granted += take;
        expect(discarded).toBeGreaterThan(0);
        expect(granted).toBe(4 + intervals * 3 - discarded);
        expect(Number.isInteger(granted)).toBe(true);
        bucket.close();
        await flush();
      });

      it('grants queued callers on schedule over 10^5 steps without drift', async () => {
        const { clock, bucket } = await setup({ capacity: 5, refillTokens: 3, refillInterval: 7, initialTokens: 0 });
        // Each getToken(3) is granted exactly one step after the previous one.
        for (let step = 1; step <= 1000; step += 1) {
          const outcome = track(bucket.getToken(3), clock);
          await tick(clock, 7);
          expect(outcome.at).toBe(step * 7);
        }
        clock.tick(7 * 99_000);
        const outcome = track(bucket.getToken(5), clock);
        await flush();
        expect(outcome.at).toBe(7 * 100_000);
        bucket.close();
      });

      it('serves a refill interval of 30 days (longer than any single timer)', async () => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 30 * DAY, initialTokens: 0 });
        const outcome = track(bucket.getToken(), clock);
        await tick(clock, 30 * DAY - 1);
        expect(outcome.state).toBe('pending');
        await tick(clock, 1);
        expect(outcome).toMatchObject({ state: 'granted', at: 30 * DAY });
        const second = track(bucket.getToken(), clock);
        await tick(clock, 60 * DAY);
        expect(second).toMatchObject({ state: 'granted', at: 60 * DAY });
        bucket.close();
      });

      it('never creates tokens when the clock steps backwards', async () => {
        let now = 0;
        const clock: Clock = {
          performance: { now: () => now },
          setTimeout: () => ({}),
          clearTimeout: () => undefined,
          setInterval: () => ({}),
          clearInterval: () => undefined,
        };
        const bucket = await create({ capacity: 5, refillInterval: 1000, initialTokens: 0, clock });
        now = 3000;
        expect(await bucket.available).toBe(3);
        expect(await bucket.tryGetToken(3)).toBe(true);
        now = 500;
        expect(await bucket.available).toBe(0);
        // What comes next depends on the kind (the in-process buckets re-base, the shared and Redis ones
        // wait for the clock to catch up; see their tests): either way, the step back added nothing.
        now = 1499;
        expect(await bucket.available).toBe(0);
        bucket.close();
      });
    });

    describe("the lesson's scenario", () => {
      it('grants ten callers of a capacity-1 bucket one at a time, exactly 1000 ms apart (initialTokens: 0)', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const order: number[] = [];
        const outcomes = Array.from({ length: 10 }, (_, i) => {
          const promise = bucket.getToken().then(() => order.push(i));
          return track(promise, clock);
        });
        expect(bucket.pending).toBe(10);
        await tick(clock, 10_000);
        expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(outcomes.map((o) => o.at)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * 1000));
        expect(bucket.pending).toBe(0);
        bucket.close();
      });

      it('grants the first at once when the bucket starts full, then one per second', async () => {
        const { clock, bucket } = await setup({ capacity: 1 });
        const outcomes = Array.from({ length: 10 }, () => track(bucket.getToken(), clock));
        await tick(clock, 9_000);
        expect(outcomes.map((o) => o.at)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => s * 1000));
        bucket.close();
      });
    });

    describe('strict FIFO', () => {
      it('grants in arrival order, several in the same instant when the tokens allow', async () => {
        const { clock, bucket } = await setup({ capacity: 10, refillTokens: 10, initialTokens: 0 });
        const order: number[] = [];
        const outcomes = Array.from({ length: 15 }, (_, i) =>
          track(
            bucket.getToken().then(() => order.push(i)),
            clock,
          ),
        );
        await tick(clock, 1000);
        expect(outcomes.filter((o) => o.state === 'granted').length).toBe(10);
        await tick(clock, 1000);
        expect(order).toEqual([...Array(15).keys()]);
        expect(outcomes.map((o) => o.at)).toEqual([...Array<number>(10).fill(1000), ...Array<number>(5).fill(2000)]);
        bucket.close();
      });

      it('tryGetToken does not barge past queued callers even when tokens are there', async () => {
        const { clock, bucket } = await setup({ capacity: 5, refillInterval: 100, initialTokens: 0 });
        const big = track(bucket.getToken(3), clock);
        await tick(clock, 200);
        expect(await bucket.available).toBe(0); // 2 tokens are held, but they belong to the head
        expect(await bucket.tryGetToken()).toBe(false);
        await tick(clock, 100);
        expect(big).toMatchObject({ state: 'granted', at: 300 });
        expect(await bucket.tryGetToken()).toBe(false);
        await tick(clock, 100);
        expect(await bucket.tryGetToken()).toBe(true);
        bucket.close();
      });

      it('does not starve a large request at the head behind small ones', async () => {
        const { clock, bucket } = await setup({ capacity: 5, refillInterval: 100, initialTokens: 0 });
        const large = track(bucket.getToken(5), clock);
        const small = Array.from({ length: 3 }, () => track(bucket.getToken(1), clock));
        await tick(clock, 800);
        expect(large.at).toBe(500);
        expect(small.map((o) => o.at)).toEqual([600, 700, 800]);
        bucket.close();
      });

      it('a caller arriving while others wait queues even if it asks for less', async () => {
        const { clock, bucket } = await setup({ capacity: 4, refillInterval: 100, initialTokens: 1 });
        const first = track(bucket.getToken(3), clock);
        const second = track(bucket.getToken(1), clock);
        await flush();
        expect(second.state).toBe('pending');
        await tick(clock, 300);
        expect(first.at).toBe(200);
        expect(second.at).toBe(300);
        bucket.close();
      });

      it('counts only the tokens the cap kept when a step overfills the bucket', async () => {
        const { clock, bucket } = await setup({ capacity: 10, refillTokens: 10, initialTokens: 5 });
        const head = track(bucket.getToken(10), clock);
        const next = track(bucket.getToken(10), clock);
        await tick(clock, 2000);
        expect(head.at).toBe(1000); // 5 + 10 capped at 10
        expect(next.at).toBe(2000);
        bucket.close();
      });
    });

    describe('argument validation', () => {
      const badCounts: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', null];
      it.each(badCounts)('getToken(%s) rejects at once with a RangeError naming the value', async (count) => {
        const { bucket } = await setup({ capacity: 3 });
        const promise = bucket.getToken(count as number);
        await expect(promise).rejects.toThrow(RangeError);
        await expect(promise).rejects.toThrow(String(count === '1' ? '"1"' : count));
        await expectFailure(() => bucket.tryGetToken(count as number), RangeError);
        expect(await bucket.available).toBe(3);
        bucket.close();
      });

      it('a count above capacity rejects at once, never hangs', async () => {
        const { bucket } = await setup({ capacity: 3 });
        await expect(bucket.getToken(4)).rejects.toThrow(/capacity \(3\), received 4/);
        await expectFailure(() => bucket.tryGetToken(4), RangeError);
        await expectFailure(() => bucket.waitTime(4), RangeError);
        bucket.close();
      });

      it.each([-1, Number.NaN, '5', null])('maxWait %s rejects with a RangeError', async (maxWait) => {
        const { bucket } = await setup({ capacity: 3 });
        await expect(bucket.getToken(1, { maxWait: maxWait as number })).rejects.toThrow(RangeError);
        expect(await bucket.available).toBe(3);
        bucket.close();
      });

      it('options that are not an object, or a signal that is not an AbortSignal, reject with a TypeError', async () => {
        const { bucket } = await setup({ capacity: 3 });
        await expect(bucket.getToken(1, 5 as never)).rejects.toThrow(TypeError);
        await expect(bucket.getToken(1, { signal: {} as AbortSignal })).rejects.toThrow(
          /signal must be an AbortSignal/,
        );
        bucket.close();
      });

      it('never throws synchronously from getToken, open or closed', async () => {
        const { bucket } = await setup({ capacity: 3 });
        const calls = [
          () => bucket.getToken(-1),
          () => bucket.getToken(4),
          () => bucket.getToken(1, null as never),
          () => bucket.getToken(1, { maxWait: -1 }),
          () => bucket.getToken(1, { signal: 'no' as never }),
        ];
        const call = (make: () => Promise<void>): Promise<void> => {
          let promise: Promise<void> = Promise.resolve();
          expect(() => (promise = make())).not.toThrow();
          return promise;
        };
        for (const bad of calls) await expect(call(bad)).rejects.toBeInstanceOf(Error);
        bucket.close();
        for (const bad of calls) await expect(call(bad)).rejects.toBeInstanceOf(Error);
        await expect(call(() => bucket.getToken())).rejects.toBeInstanceOf(BucketClosedError);
      });
    });

    describe('abort', () => {
      it('an already aborted signal rejects at once with signal.reason, untouched, taking nothing', async () => {
        const { bucket } = await setup({ capacity: 3 });
        const reason = { custom: 'reason' };
        const controller = new AbortController();
        controller.abort(reason);
        await expect(bucket.getToken(1, { signal: controller.signal })).rejects.toBe(reason);
        expect(await bucket.available).toBe(3);
        bucket.close();
      });

      it('aborting a queued caller rejects it with the reason and lets the callers behind move up on schedule', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const controller = new AbortController();
        const a = track(bucket.getToken(1, { signal: controller.signal }), clock);
        const b = track(bucket.getToken(), clock);
        const c = track(bucket.getToken(), clock);
        await tick(clock, 500);
        controller.abort(new Error('gone'));
        await flush();
        expect(a.state).toBe('rejected');
        expect((a.error as Error).message).toBe('gone');
        expect(bucket.pending).toBe(2);
        await tick(clock, 1500);
        expect(b.at).toBe(1000);
        expect(c.at).toBe(2000);
        bucket.close();
      });

      it('aborting callers at once, before any time passes, gives their tokens back to the callers behind', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const controller = new AbortController();
        const calls = [0, 1, 2, 3, 4].map((i) =>
          track(bucket.getToken(1, i % 2 === 0 ? { signal: controller.signal } : {}), clock),
        );
        controller.abort(new Error('gone'));
        await tick(clock, 2000);
        expect(calls.map((call) => call.state)).toEqual(['rejected', 'granted', 'rejected', 'granted', 'rejected']);
        expect([calls[1]?.at, calls[3]?.at]).toEqual([1000, 2000]);
        expect(await bucket.waitTime()).toBe(1000); // nothing is left reserved for the aborted callers
        bucket.close();
      });

      it('aborting the head grants the callers behind it at once when the tokens already cover them', async () => {
        const { clock, bucket } = await setup({ capacity: 5, initialTokens: 2 });
        const controller = new AbortController();
        const head = track(bucket.getToken(5, { signal: controller.signal }), clock);
        const next = track(bucket.getToken(2), clock);
        await tick(clock, 100);
        controller.abort();
        await flush();
        expect(head.state).toBe('rejected');
        expect((head.error as Error).name).toBe('AbortError');
        expect(next).toMatchObject({ state: 'granted', at: 100 });
        expect(await bucket.available).toBe(0);
        bucket.close();
      });

      it('aborting a caller in the middle consumes no tokens', async () => {
        const { clock, bucket } = await setup({ capacity: 3, initialTokens: 0 });
        const controller = new AbortController();
        const first = track(bucket.getToken(1), clock);
        const middle = track(bucket.getToken(2, { signal: controller.signal }), clock);
        const last = track(bucket.getToken(2), clock);
        controller.abort();
        await tick(clock, 3000);
        expect(first.at).toBe(1000);
        expect(middle.state).toBe('rejected');
        expect(last.at).toBe(3000);
        bucket.close();
      });

      it('removes its abort listener once the caller is granted, rejected or closed', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        // One signal per caller: whether an implementation listens once per signal or once per caller,
        // it must not listen any more once the caller has left the queue.
        const controllers = [new AbortController(), new AbortController(), new AbortController()];
        const calls = controllers.map(({ signal }) => track(bucket.getToken(1, { signal }), clock));
        const listeners = () => controllers.map(({ signal }) => getEventListeners(signal, 'abort').length);
        expect(listeners()).toEqual([1, 1, 1]);
        await tick(clock, 2000);
        expect(listeners()).toEqual([0, 0, 1]);
        bucket.close();
        await flush();
        expect(listeners()).toEqual([0, 0, 0]);
        expect(calls.map((c) => c.state)).toEqual(['granted', 'granted', 'rejected']);
        for (const controller of controllers) controller.abort(); // aborting afterwards changes nothing
      });

      it('an abort after the grant is ignored', async () => {
        const { clock, bucket } = await setup({ capacity: 1 });
        const controller = new AbortController();
        const granted = track(bucket.getToken(1, { signal: controller.signal }), clock);
        await flush();
        controller.abort();
        await flush();
        expect(granted.state).toBe('granted');
        expect(await bucket.available).toBe(0);
        bucket.close();
      });
    });

    describe('maxWait', () => {
      it('rejects at once with MaxWaitExceededError when the grant would come later than maxWait', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const tooLate = track(bucket.getToken(1, { maxWait: 999 }), clock);
        await flush();
        expect(tooLate.state).toBe('rejected');
        expect(tooLate.error).toBeInstanceOf(MaxWaitExceededError);
        expect(tooLate.error).toMatchObject({ name: 'MaxWaitExceededError', waitTime: 1000, maxWait: 999 });
        expect(bucket.pending).toBe(0);
        const inTime = track(bucket.getToken(1, { maxWait: 1000 }), clock);
        await tick(clock, 1000);
        expect(inTime).toMatchObject({ state: 'granted', at: 1000 });
        bucket.close();
      });

      it('counts the queue ahead when predicting the grant', async () => {
        const { clock, bucket } = await setup({ capacity: 2, initialTokens: 0 });
        track(bucket.getToken(2), clock);
        track(bucket.getToken(1), clock);
        // Ahead: 2 tokens at 2000 ms, then 1 at 3000 ms; this caller's token comes at 4000 ms.
        await expect(bucket.getToken(1, { maxWait: 3999 })).rejects.toThrow(MaxWaitExceededError);
        const third = track(bucket.getToken(1, { maxWait: 4000 }), clock);
        await tick(clock, 4000);
        expect(third.at).toBe(4000);
        bucket.close();
      });

      it('predicts correctly after an abort shortened the queue', async () => {
        const { clock, bucket } = await setup({ capacity: 3, refillTokens: 2, initialTokens: 0 });
        const controller = new AbortController();
        track(bucket.getToken(3), clock);
        track(bucket.getToken(3, { signal: controller.signal }), clock);
        expect(await bucket.waitTime(1)).toBe(5000);
        controller.abort();
        await flush();
        expect(await bucket.waitTime(1)).toBe(3000);
        const fits = track(bucket.getToken(1, { maxWait: 3000 }), clock);
        await tick(clock, 3000);
        expect(fits.at).toBe(3000);
        bucket.close();
      });

      it('maxWait 0 grants only what is there now; Infinity waits as long as it takes', async () => {
        const { clock, bucket } = await setup({ capacity: 1 });
        await expect(bucket.getToken(1, { maxWait: 0 })).resolves.toBeUndefined();
        await expect(bucket.getToken(1, { maxWait: 0 })).rejects.toThrow(MaxWaitExceededError);
        const patient = track(bucket.getToken(1, { maxWait: Number.POSITIVE_INFINITY }), clock);
        await tick(clock, 1000);
        expect(patient.at).toBe(1000);
        bucket.close();
      });
    });

    describe('waitTime', () => {
      it('is 0 when the tokens are there, and otherwise the ms until the real grant', async () => {
        const { clock, bucket } = await setup({ capacity: 4, refillTokens: 2, refillInterval: 250, initialTokens: 1 });
        expect(await bucket.waitTime()).toBe(0);
        expect(await bucket.waitTime(4)).toBe(500);
        await tick(clock, 100);
        expect(await bucket.waitTime(4)).toBe(400);
        const predicted = await bucket.waitTime(4);
        const call = track(bucket.getToken(4), clock);
        expect(await bucket.waitTime(1)).toBe(650);
        await tick(clock, 1000);
        expect(call.at).toBe(100 + predicted);
        bucket.close();
      });
    });

    describe('close', () => {
      it('rejects every queued caller with BucketClosedError and later calls too', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const queued = Array.from({ length: 3 }, () => track(bucket.getToken(), clock));
        bucket.close();
        await flush();
        expect(queued.every((o) => o.state === 'rejected' && o.error instanceof BucketClosedError)).toBe(true);
        await expect(bucket.getToken()).rejects.toThrow(BucketClosedError);
        await expect(bucket.getToken(0)).rejects.toThrow(BucketClosedError);
        await expectFailure(() => bucket.tryGetToken(), BucketClosedError);
        await expectFailure(() => bucket.waitTime(), BucketClosedError);
        expect(await bucket.available).toBe(0);
        expect(bucket.pending).toBe(0);
        expect(clock.countTimers()).toBe(0);
        expect(() => bucket.close()).not.toThrow();
      });

      it('is also [Symbol.dispose], so `using` closes the bucket', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const queued = track(bucket.getToken(), clock);
        bucket[Symbol.dispose]();
        await flush();
        expect(queued.error).toBeInstanceOf(BucketClosedError);
        expect(clock.countTimers()).toBe(0);
      });

      it('leaves no timer behind and no promise pending, whatever was queued or aborted', async () => {
        const { clock, bucket } = await setup({ capacity: 2, refillInterval: 10, initialTokens: 0 });
        const controller = new AbortController();
        const outcomes = Array.from({ length: 20 }, (_, i) =>
          track(bucket.getToken((i % 2) + 1, i % 3 === 0 ? { signal: controller.signal } : {}), clock),
        );
        await tick(clock, 55);
        controller.abort();
        await tick(clock, 20);
        bucket.close();
        await flush();
        expect(outcomes.filter((o) => o.state === 'pending')).toEqual([]);
        expect(clock.countTimers()).toBe(0);
      });
    });
  });
  hostileInputSuite(name, create, hooks);
  queueCapSuite(name, create, hooks);
  eventsSuite(name, create, hooks);
}
