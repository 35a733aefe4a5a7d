import { describe, expect } from 'vitest';
import { BucketClosedError, MaxWaitExceededError } from '../../src/index.js';
import type { ReconfigureOptions } from '../../src/types/options.js';
import { createFakeClock, track, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';
import { suiteTools, type SuiteBucket, type SuiteFactory, type SuiteHooks } from './suiteTools.js';

/** A suite bucket that can be paused (and, where the entry has it, reconfigured). */
interface PausableSuiteBucket extends SuiteBucket {
  pause(ms: number): unknown;
  reconfigure?: (options: ReconfigureOptions) => unknown;
}

/**
 * The contract of `pause(ms)` (`PausableTokenBucketFilter`), run against every implementation that has
 * it: nothing is granted for `ms` from the call, queued callers keep their order, `waitTime()` and
 * `maxWait` count the pause, a second pause only extends, and at the end each limit holds at most one
 * refill (`refillTokens`). Every expectation is at an exact instant of a fake clock.
 */
export function pauseSuite(name: string, create: SuiteFactory, hooks: SuiteHooks = {}): void {
  const { it, tick, flush, expectFailure } = suiteTools(hooks);

  describe(`${name} (pause)`, () => {
    async function setup(
      options: Omit<SuiteOptions, 'clock'>,
    ): Promise<{ clock: FakeClock; bucket: PausableSuiteBucket }> {
      const clock = createFakeClock();
      return { clock, bucket: (await create({ ...options, clock })) as PausableSuiteBucket };
    }
    const at = (clock: FakeClock, ms: number): Promise<void> => tick(clock, ms - clock.performance.now());

    it('grants nothing for ms from now, then resumes with one refill at the end of the pause', async () => {
      const { clock, bucket } = await setup({ capacity: 5, refillTokens: 2, refillInterval: 100 });
      await bucket.pause(250);
      expect(await bucket.tryGetToken(), 'tryGetToken() during the pause').toBe(false);
      expect(await bucket.available).toBe(0);
      // At 250 the bucket holds one refill (2 of its 5); the next step (300) adds 2 more.
      expect(await bucket.waitTime(2)).toBe(250);
      expect(await bucket.waitTime(3)).toBe(300);
      const first = track(bucket.getToken(2), clock);
      await at(clock, 249);
      expect(first.state, 'at 249 ms').toBe('pending');
      expect(await bucket.tryGetToken()).toBe(false);
      await at(clock, 250);
      expect(first).toMatchObject({ state: 'granted', at: 250 });
      expect(await bucket.tryGetToken()).toBe(false);
      // Then the steady rate: 2 per 100 ms, up to the capacity.
      for (const [ms, available] of [
        [299, 0],
        [300, 2],
        [400, 4],
        [500, 5],
      ] as const) {
        await at(clock, ms);
        expect(await bucket.available, `available at ${ms} ms`).toBe(available);
      }
      bucket.close();
    });

    it('keeps the queued callers in order, re-planned after the pause, with later callers behind them', async () => {
      const { clock, bucket } = await setup({ capacity: 1, refillInterval: 1000, initialTokens: 0 });
      const a = track(bucket.getToken(), clock); // due at 1000
      const b = track(bucket.getToken(), clock); // due at 2000
      await at(clock, 500);
      await bucket.pause(2000); // until 2500: a then, b at the next step (3000)
      expect(await bucket.waitTime()).toBe(3500); // a new caller after a and b: 4000
      const c = track(bucket.getToken(), clock);
      await at(clock, 2499);
      expect([a.state, b.state, c.state]).toEqual(['pending', 'pending', 'pending']);
      // Instant by instant: a Redis sleeper on a paused key asks Redis at its instant before its grant,
      // and a fake clock's tick does not wait for that reply.
      for (const ms of [2500, 3000, 4000]) await at(clock, ms);
      expect([a.at, b.at, c.at]).toEqual([2500, 3000, 4000]);
      expect(bucket.pending).toBe(0);
      bucket.close();
    });

    it('counts the pause in maxWait: a queued caller whose grant moves past it rejects, and so does a new one', async () => {
      const { clock, bucket } = await setup({ capacity: 1, refillInterval: 1000, initialTokens: 0 });
      const patient = track(bucket.getToken(1, { maxWait: 1500 }), clock); // due at 1000
      await at(clock, 200);
      await bucket.pause(2000); // until 2200: 1 token then (steps 1000 and 2000 capped at one refill)
      await flush();
      expect(patient.state).toBe('rejected');
      expect(patient.error).toBeInstanceOf(MaxWaitExceededError);
      const tooLate = track(bucket.getToken(1, { maxWait: 1999 }), clock);
      await flush();
      expect(tooLate.error).toMatchObject({ name: 'MaxWaitExceededError', waitTime: 2000, maxWait: 1999 });
      const inTime = track(bucket.getToken(1, { maxWait: 2000 }), clock);
      await at(clock, 2200);
      expect(inTime).toMatchObject({ state: 'granted', at: 2200 });
      bucket.close();
    });

    it('extends a pause in force and never shortens it', async () => {
      const { clock, bucket } = await setup({ capacity: 2, refillInterval: 100 });
      await bucket.pause(1000);
      await at(clock, 100);
      await bucket.pause(300); // ends at 400, before 1000: changes nothing
      expect(await bucket.waitTime()).toBe(900);
      await at(clock, 200);
      await bucket.pause(2000); // until 2200
      expect(await bucket.waitTime()).toBe(2000);
      const granted = track(bucket.getToken(), clock);
      await at(clock, 2199);
      expect(granted.state).toBe('pending');
      await at(clock, 2200);
      expect(granted).toMatchObject({ state: 'granted', at: 2200 });
      // One refill (1 token) at the end, and it went to that caller.
      expect(await bucket.tryGetToken()).toBe(false);
      bucket.close();
    });

    it('pause(0) grants at once what one refill holds, and no burst', async () => {
      const { bucket } = await setup({ capacity: 5, refillTokens: 2, refillInterval: 100 });
      await bucket.pause(0);
      expect(await bucket.available).toBe(2);
      expect(await bucket.tryGetToken(2)).toBe(true);
      expect(await bucket.tryGetToken()).toBe(false);
      bucket.close();
    });

    it('holds through reconfigure(), capped at the new refillTokens', async () => {
      const { clock, bucket } = await setup({ capacity: 3, refillTokens: 3, refillInterval: 1000 });
      if (bucket.reconfigure === undefined) throw new Error(`${name} has no reconfigure()`);
      await bucket.pause(500);
      await at(clock, 100);
      await bucket.reconfigure({ capacity: 10, refillTokens: 2 });
      expect(await bucket.tryGetToken()).toBe(false);
      expect(await bucket.waitTime(2)).toBe(400);
      await at(clock, 500);
      expect(await bucket.available).toBe(2);
      bucket.close();
    });

    it('rejects a bad ms with TypeError or RangeError naming it, changing nothing, and BucketClosedError after close()', async () => {
      const { bucket } = await setup({ capacity: 2 });
      for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectFailure(() => bucket.pause(ms), RangeError);
      }
      await expectFailure(() => bucket.pause('5' as unknown as number), TypeError);
      await expectFailure(() => bucket.pause(undefined as unknown as number), TypeError);
      expect(await bucket.available, 'nothing paused').toBe(2);
      bucket.close();
      await expectFailure(() => bucket.pause(10), BucketClosedError);
    });

    it('rejects the callers waiting through a pause on close(), and leaves no timer behind', async () => {
      const { clock, bucket } = await setup({ capacity: 1, refillInterval: 100 });
      await bucket.pause(10_000);
      const waiting = [track(bucket.getToken(), clock), track(bucket.getToken(), clock)];
      await tick(clock, 50);
      bucket.close();
      await flush();
      expect(waiting.map((o) => o.error instanceof BucketClosedError)).toEqual([true, true]);
      expect(clock.countTimers()).toBe(0);
    });
  });
}
