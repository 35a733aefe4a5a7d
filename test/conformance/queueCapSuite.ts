import { describe, expect } from 'vitest';
import { MaxWaitExceededError, QueueFullError } from '../../src/index.js';
import { createFakeClock, track, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';
import { suiteTools, type SuiteBucket, type SuiteFactory, type SuiteHooks } from './suiteTools.js';

/**
 * `maxQueue` and `QueueFullError`, run against every implementation by `tokenBucketFilterSuite`: the
 * cap counts this instance's callers that wait (for a Redis bucket, its calls in flight too), refuses
 * at once a call that would wait behind it, takes and reserves nothing for it, and never refuses a call
 * granted without waiting.
 */
export function queueCapSuite(name: string, create: SuiteFactory, hooks: SuiteHooks): void {
  const { it, tick, flush } = suiteTools(hooks);

  async function setup(options: Omit<SuiteOptions, 'clock'>): Promise<{ clock: FakeClock; bucket: SuiteBucket }> {
    const clock = createFakeClock();
    return { clock, bucket: await create({ ...options, clock }) };
  }

  describe(`${name} (maxQueue)`, () => {
    it('a call that would wait behind maxQueue callers rejects at once with QueueFullError, reserving nothing', async () => {
      const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0, maxQueue: 2 });
      const first = track(bucket.getToken(), clock);
      const second = track(bucket.getToken(), clock);
      const refused = bucket.getToken();
      await expect(refused).rejects.toBeInstanceOf(QueueFullError);
      await expect(refused).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 2, maxQueue: 2 });
      await expect(refused).rejects.toThrow('2 callers are waiting and maxQueue is 2');
      expect(bucket.pending).toBe(2);
      // Nothing was reserved for it: the next caller's token still comes right after the two queued.
      expect(await bucket.waitTime()).toBe(3000);
      await tick(clock, 2000);
      expect([first.at, second.at]).toEqual([1000, 2000]);
      const later = track(bucket.getToken(), clock);
      await tick(clock, 1000);
      expect(later).toMatchObject({ state: 'granted', at: 3000 });
      bucket.close();
    });

    it('maxQueue 0 never waits: a call the tokens cover is granted, any other is refused', async () => {
      const { clock, bucket } = await setup({ capacity: 2, maxQueue: 0 });
      await expect(bucket.getToken()).resolves.toBeUndefined();
      await expect(bucket.getToken(1, { maxWait: 5000 })).resolves.toBeUndefined();
      await expect(bucket.getToken()).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 0, maxQueue: 0 });
      expect(bucket.pending).toBe(0);
      expect(await bucket.tryGetToken()).toBe(false); // tryGetToken() is not a queued call: unaffected
      await tick(clock, 1000);
      await expect(bucket.getToken()).resolves.toBeUndefined();
      expect(await bucket.available).toBe(0);
      bucket.close();
    });

    it('is checked before maxWait: a call both would refuse rejects with QueueFullError', async () => {
      const { bucket } = await setup({ capacity: 1, initialTokens: 0, maxQueue: 0 });
      const refused = bucket.getToken(1, { maxWait: 0 });
      await expect(refused).rejects.toBeInstanceOf(QueueFullError);
      await expect(refused).rejects.not.toBeInstanceOf(MaxWaitExceededError);
      bucket.close();
    });

    it('a place frees when a queued caller is granted or aborted', async () => {
      const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0, maxQueue: 1 });
      const controller = new AbortController();
      const aborted = track(bucket.getToken(1, { signal: controller.signal }), clock);
      await expect(bucket.getToken()).rejects.toBeInstanceOf(QueueFullError);
      controller.abort(new Error('gone'));
      await flush();
      expect(aborted.state).toBe('rejected');
      const granted = track(bucket.getToken(), clock);
      await expect(bucket.getToken()).rejects.toBeInstanceOf(QueueFullError);
      await tick(clock, 1000);
      expect(granted).toMatchObject({ state: 'granted', at: 1000 });
      const next = track(bucket.getToken(), clock);
      await tick(clock, 1000);
      expect(next).toMatchObject({ state: 'granted', at: 2000 });
      bucket.close();
    });

    it('counts each refusal in stats().queueFull, and in nothing else', async () => {
      const { bucket } = await setup({ capacity: 1, initialTokens: 0, maxQueue: 1 });
      if (bucket.stats === undefined) {
        bucket.close();
        return; // no stats() (features.stats)
      }
      const before = bucket.stats();
      const queued = bucket.getToken();
      await expect(bucket.getToken()).rejects.toBeInstanceOf(QueueFullError);
      await expect(bucket.getToken(1, { maxWait: 10 })).rejects.toBeInstanceOf(QueueFullError);
      await flush();
      const after = bucket.stats();
      expect(after.queueFull - before.queueFull).toBe(2);
      expect([after.denied, after.maxWaitExceeded, after.granted]).toEqual([
        before.denied,
        before.maxWaitExceeded,
        before.granted,
      ]);
      bucket.close();
      await expect(queued).rejects.toThrow();
    });

    it.each([
      [-1, RangeError, 'maxQueue must be a non-negative integer or Infinity, received -1'],
      [1.5, RangeError, 'received 1.5'],
      [Number.NaN, RangeError, 'received NaN'],
      [Number.NEGATIVE_INFINITY, RangeError, 'received -Infinity'],
      [2 ** 53, RangeError, 'received 9007199254740992'],
      ['5', TypeError, 'maxQueue must be a number, received "5"'],
      [null, TypeError, 'maxQueue must be a number, received null'],
    ])('refuses maxQueue %s with the message every bucket gives', (maxQueue, type, message) => {
      const clock = createFakeClock();
      const options = { capacity: 1, maxQueue: maxQueue as number, clock };
      expect(() => create(options)).toThrow(type);
      expect(() => create(options)).toThrow(message);
    });

    it('reconfigure() refuses a bad maxQueue and changes nothing, the limits included', async () => {
      const { clock, bucket } = await setup({ capacity: 2, initialTokens: 0, maxQueue: 1 });
      if (bucket.reconfigure === undefined) {
        bucket.close();
        return; // no reconfigure() (features.reconfigure)
      }
      const reconfigure = bucket.reconfigure.bind(bucket);
      const refused = async (options: object, type: new (...args: never[]) => Error): Promise<void> => {
        // A sync bucket throws, an async store rejects: either way with `type`.
        await expect((async () => await reconfigure(options as never))()).rejects.toThrow(type);
      };
      await refused({ maxQueue: -1 }, RangeError);
      await refused({ maxQueue: 5, limits: [{ capacity: 0 }] }, RangeError); // nor is the cap, when the rest is refused
      await refused({ maxQueue: 5, refilTokens: 1 }, TypeError);
      const queued = track(bucket.getToken(2), clock);
      await expect(bucket.getToken()).rejects.toMatchObject({ name: 'QueueFullError', maxQueue: 1 });
      await tick(clock, 2000);
      expect(queued).toMatchObject({ state: 'granted', at: 2000 });
      bucket.close();
    });

    it('reconfigure({ maxQueue }) changes the cap for later calls only and leaves the limits untouched', async () => {
      const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0, refillInterval: 1000, maxQueue: 3 });
      if (bucket.reconfigure === undefined) {
        bucket.close();
        return; // no reconfigure() (features.reconfigure)
      }
      const queued = [track(bucket.getToken(), clock), track(bucket.getToken(), clock)];
      await tick(clock, 500);
      await bucket.reconfigure({ maxQueue: 1 });
      expect(bucket.pending).toBe(2); // queued callers stay, above the new cap
      await expect(bucket.getToken()).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 2, maxQueue: 1 });
      // The schedule did not restart at the reconfiguration (it would put the first grant at 1500 ms).
      await tick(clock, 500);
      expect(queued[0]).toMatchObject({ state: 'granted', at: 1000 });
      await expect(bucket.getToken()).rejects.toBeInstanceOf(QueueFullError);
      await tick(clock, 1000);
      expect(queued[1]).toMatchObject({ state: 'granted', at: 2000 });
      const last = track(bucket.getToken(), clock);
      await bucket.reconfigure({ maxQueue: Number.POSITIVE_INFINITY });
      const more = Array.from({ length: 3 }, () => track(bucket.getToken(), clock));
      await tick(clock, 4000);
      expect([last, ...more].map((outcome) => outcome.at)).toEqual([3000, 4000, 5000, 6000]);
      bucket.close();
    });
  });
}
