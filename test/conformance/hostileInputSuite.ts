import { getEventListeners } from 'node:events';
import { describe, expect } from 'vitest';
import { InvalidClockReadingError, MaxWaitExceededError } from '../../src/index.js';
import { breakableClock, createFakeClock, track, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';
import { suiteTools, type SuiteBucket, type SuiteFactory, type SuiteHooks } from './suiteTools.js';

/** A signal-like object that forwards to a real signal: what a wrapper library might hand over. */
function delegatingSignal(signal: AbortSignal): AbortSignal {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason(): unknown {
      return signal.reason as unknown;
    },
    addEventListener: (type: string, listener: () => void) => {
      signal.addEventListener(type, listener);
    },
    removeEventListener: (type: string, listener: () => void) => {
      signal.removeEventListener(type, listener);
    },
  } as unknown as AbortSignal;
}

/** A `Proxy` of a real signal whose methods are bound to the signal (so they work through the proxy). */
function proxiedSignal(signal: AbortSignal): AbortSignal {
  return new Proxy(signal, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A minimal signal-like with a settable state, whose listeners this test fires itself. */
function handMadeSignal(aborted: boolean, reason?: unknown) {
  const listeners = new Set<() => void>();
  const signal = {
    aborted,
    reason,
    addEventListener: (_type: string, listener: () => void) => listeners.add(listener),
    removeEventListener: (_type: string, listener: () => void) => listeners.delete(listener),
  };
  const abort = (): void => {
    signal.aborted = true;
    for (const listener of [...listeners]) listener();
  };
  return { signal: signal as unknown as AbortSignal, abort, listeners };
}

/**
 * The contract under hostile input and broken environments, run against every implementation by
 * {@link tokenBucketFilterSuite}: no input, clock or signal may make a bucket grant what its schedule
 * does not allow, hang, throw from `getToken()`, or keep a listener.
 */
export function hostileInputSuite(name: string, create: SuiteFactory, hooks: SuiteHooks): void {
  const { it, tick, flush, expectFailure } = suiteTools(hooks);

  async function setup(options: Omit<SuiteOptions, 'clock'>): Promise<{ clock: FakeClock; bucket: SuiteBucket }> {
    const clock = createFakeClock();
    return { clock, bucket: await create({ ...options, clock }) };
  }

  /** Expects `call()` to return (not throw) a promise that rejects with something matching `expected`. */
  async function expectRejection(call: () => Promise<void>, expected: unknown): Promise<void> {
    let promise: Promise<void> | undefined;
    expect(() => (promise = call())).not.toThrow();
    if (expected instanceof Function) await expect(promise).rejects.toBeInstanceOf(expected);
    else await expect(promise).rejects.toBe(expected);
  }

  describe(`${name} (hostile input)`, () => {
    describe('invalid clock readings', () => {
      it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 43, '5', undefined])(
        'a reading of %s grants nothing and mints nothing; the bucket goes on on schedule once readings are valid',
        async (reading) => {
          const { clock, fake, breakWith, mend } = breakableClock();
          const bucket = await create({ capacity: 100, refillInterval: 100, initialTokens: 0, clock });
          const queued = Array.from({ length: 3 }, () => track(bucket.getToken(), fake));
          breakWith(reading);
          let refused: unknown;
          await bucket.getToken().catch((error: unknown) => (refused = error));
          expect(refused).toBeInstanceOf(InvalidClockReadingError);
          expect(refused).toBeInstanceOf(TypeError);
          expect(Object.is((refused as InvalidClockReadingError).reading, reading)).toBe(true);
          await expectFailure(() => bucket.tryGetToken(), InvalidClockReadingError);
          await expectFailure(() => bucket.waitTime(), InvalidClockReadingError);
          await tick(fake, 500); // the grant instant (100) passes while every reading is broken
          expect(queued.map((q) => q.state)).toEqual(['pending', 'pending', 'pending']);
          mend();
          await tick(fake, 1500); // timers retry within a second of the clock being mended
          expect(queued.map((q) => q.state)).toEqual(['granted', 'granted', 'granted']);
          // Exactly the schedule: 20 steps of 1 token by 2000 ms, 3 of them taken.
          expect(await bucket.available).toBe(17);
          expect(bucket.pending).toBe(0);
          bucket.close();
        },
      );

      it('a single invalid reading between valid ones changes nothing', async () => {
        const { clock, fake, breakWith, mend } = breakableClock();
        const bucket = await create({ capacity: 5, refillInterval: 100, initialTokens: 2, clock });
        breakWith(Number.NaN);
        await expect(bucket.getToken(2)).rejects.toBeInstanceOf(InvalidClockReadingError);
        mend();
        expect(await bucket.available).toBe(2);
        await tick(fake, 100);
        expect(await bucket.available).toBe(3);
        bucket.close();
      });
    });

    describe('options objects', () => {
      it('getToken() never throws, whatever its options do: throwing getters and Proxy traps reject', async () => {
        const { bucket } = await setup({ capacity: 3 });
        const boom = new Error('boom');
        const throwingGetter = {
          get maxWait(): number {
            throw boom;
          },
        };
        const throwingProxy = new Proxy(
          {},
          {
            ownKeys() {
              throw boom;
            },
            get() {
              throw boom;
            },
            getOwnPropertyDescriptor() {
              throw boom;
            },
          },
        );
        const abortedThrows = {
          signal: {
            get aborted(): boolean {
              throw boom;
            },
            addEventListener() {},
            removeEventListener() {},
          } as unknown as AbortSignal,
        };
        for (const options of [throwingGetter, throwingProxy, abortedThrows]) {
          await expectRejection(() => bucket.getToken(1, options as never), boom);
        }
        expect(await bucket.available).toBe(3);
        bucket.close();
      });

      it.each(['timeout', 'maxwait', 'abortSignal'])(
        'an unknown getToken() option (%s) rejects with a TypeError naming it, instead of waiting unbounded',
        async (option) => {
          const { bucket } = await setup({ capacity: 1, initialTokens: 0 });
          const promise = bucket.getToken(1, { [option]: 10 } as never);
          await expect(promise).rejects.toThrow(TypeError);
          await expect(promise).rejects.toThrow(`"${option}"`);
          expect(bucket.pending).toBe(0);
          bucket.close();
        },
      );

      it('reads options as own properties only: a polluted Object.prototype changes neither a bucket nor a call', async () => {
        const prototype = Object.prototype as Record<string, unknown>;
        let bucket: SuiteBucket;
        let clock: FakeClock;
        let promise: Promise<void>;
        try {
          prototype['refillTokens'] = 1000;
          prototype['maxWait'] = 0;
          prototype['maxQueue'] = 0;
          ({ bucket, clock } = await setup({ capacity: 5, refillInterval: 100, initialTokens: 0 }));
          promise = bucket.getToken(1, {});
        } finally {
          delete prototype['refillTokens'];
          delete prototype['maxWait'];
          delete prototype['maxQueue'];
        }
        const call = track(promise, clock);
        await tick(clock, 100);
        expect(call).toMatchObject({ state: 'granted', at: 100 }); // no maxWait or maxQueue: 0 from the prototype
        expect(await bucket.available).toBe(0); // one token per step, not 1000
        bucket.close();
      });

      it('initialTokens: -0 is 0, never reported as -0', async () => {
        const { bucket } = await setup({ capacity: 3, initialTokens: -0 });
        expect(Object.is(await bucket.available, 0)).toBe(true);
        bucket.close();
      });

      it.each([
        [{ capacity: 1, refillInterval: Number.MIN_VALUE }, /refillInterval must be a number of ms from 0\.001/],
        [{ capacity: 1, refillInterval: 0.0009 }, /refillInterval must be a number of ms from 0\.001/],
        [{ capacity: 1, refillInterval: 2 ** 43 }, /refillInterval must be a number of ms from 0\.001/],
        [{ capacity: 2 ** 30, refillTokens: 2 ** 30, refillInterval: 1 }, /at most 2\^20 \(1048576\) tokens per ms/],
      ])('refuses %j with a RangeError that says why', (options, message) => {
        const clock = createFakeClock();
        expect(() => create({ ...options, clock })).toThrow(RangeError);
        expect(() => create({ ...options, clock })).toThrow(message);
      });

      it('accepts the edges of the range and keeps the arithmetic exact there', async () => {
        const { clock, bucket } = await setup({ capacity: 1000, refillInterval: 0.001, initialTokens: 0 });
        await tick(clock, 1);
        expect(await bucket.available).toBe(1000); // 1000 steps of 1 µs in 1 ms
        bucket.close();
        const fastest = await setup({ capacity: 2 ** 20, refillTokens: 2 ** 20, refillInterval: 1, initialTokens: 0 });
        await tick(fastest.clock, 1);
        expect(await fastest.bucket.available).toBe(2 ** 20);
        fastest.bucket.close();
      });

      it('grants on a fractional interval at the first whole ms at or after each step (7.5 ms: 8 15 23 30)', async () => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 7.5, initialTokens: 0 });
        const calls = Array.from({ length: 4 }, () => track(bucket.getToken(), clock));
        await tick(clock, 40);
        expect(calls.map((call) => call.at)).toEqual([8, 15, 23, 30]);
        bucket.close();
      });
    });

    describe('signals', () => {
      it.each([
        ['a Proxy of an AbortSignal', proxiedSignal],
        ['a delegating signal-like object', delegatingSignal],
      ])('aborting through %s rejects the caller, and it is never granted', async (_kind, wrapSignal) => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 100, initialTokens: 0 });
        const controller = new AbortController();
        const reason = new Error('gone');
        const aborted = track(bucket.getToken(1, { signal: wrapSignal(controller.signal) }), clock);
        const behind = track(bucket.getToken(), clock);
        await tick(clock, 50);
        controller.abort(reason);
        await tick(clock, 200);
        expect(aborted).toMatchObject({ state: 'rejected', error: reason, at: 50 });
        expect(behind).toMatchObject({ state: 'granted', at: 100 }); // moved up: the aborted one took nothing
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        bucket.close();
      });

      it('a signal-like already aborted with no reason rejects with an AbortError and takes nothing', async () => {
        const { bucket } = await setup({ capacity: 3 });
        const { signal } = handMadeSignal(true);
        const promise = bucket.getToken(1, { signal });
        await expect(promise).rejects.toBeInstanceOf(DOMException);
        await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
        expect(await bucket.available).toBe(3);
        bucket.close();
      });

      it('a signal-like that aborts later with no reason rejects its caller with an AbortError', async () => {
        const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 });
        const { signal, abort, listeners } = handMadeSignal(false);
        const call = track(bucket.getToken(1, { signal }), clock);
        await flush();
        abort();
        await tick(clock, 2000);
        expect(call.state).toBe('rejected');
        expect(call.error).toMatchObject({ name: 'AbortError' });
        expect(listeners.size).toBe(0);
        bucket.close();
      });

      it('a signal whose addEventListener throws rejects with that error and changes nothing', async () => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 100, initialTokens: 0 });
        const boom = new Error('no listeners here');
        const first = track(bucket.getToken(), clock);
        const signal = {
          aborted: false,
          addEventListener() {
            throw boom;
          },
          removeEventListener() {},
        } as unknown as AbortSignal;
        await expectRejection(() => bucket.getToken(1, { signal }), boom);
        expect(bucket.pending).toBe(1);
        expect(await bucket.waitTime()).toBe(200); // behind `first` only
        const exact = track(bucket.getToken(1, { maxWait: 200 }), clock);
        await tick(clock, 200);
        expect(first.at).toBe(100);
        expect(exact).toMatchObject({ state: 'granted', at: 200 });
        bucket.close();
      });

      it('one long-lived signal shared by 50 queued callers holds one listener, and none once they settle', async () => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 10, initialTokens: 0 });
        const controller = new AbortController();
        const calls = Array.from({ length: 50 }, () => track(bucket.getToken(1, { signal: controller.signal }), clock));
        await flush();
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
        await tick(clock, 250);
        controller.abort(new Error('shutdown'));
        await flush();
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        expect(calls.filter((call) => call.state === 'granted')).toHaveLength(25);
        expect(calls.filter((call) => call.state === 'rejected')).toHaveLength(25);
        bucket.close();
      });

      it('a maxWait at exactly the predicted wait is accepted, one ms less is refused', async () => {
        const { clock, bucket } = await setup({ capacity: 1, refillInterval: 100, initialTokens: 0 });
        await expect(bucket.getToken(1, { maxWait: 99 })).rejects.toBeInstanceOf(MaxWaitExceededError);
        const exact = track(bucket.getToken(1, { maxWait: 100 }), clock);
        await tick(clock, 100);
        expect(exact).toMatchObject({ state: 'granted', at: 100 });
        bucket.close();
      });
    });
  });
}
