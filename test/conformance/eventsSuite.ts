import { afterEach, describe, expect } from 'vitest';
import type { BucketObserver, RefusalReason, TokenBucketStats } from '../../src/index.js';
import { createFakeClock, track, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';
import { suiteTools, type SuiteBucket, type SuiteFactory, type SuiteHooks } from './suiteTools.js';

/** Every event an observer heard, in order, as text (`granted 1 after 1000`, …). */
interface Heard {
  readonly events: string[];
  readonly observer: BucketObserver;
}

/** An observer that writes down every event (a keyed bucket's key, passed last, is left out). */
function listener(): Heard {
  const events: string[] = [];
  return {
    events,
    observer: {
      granted: (count, waitedMs) => events.push(`granted ${count} after ${waitedMs}`),
      refused: (count, reason) => events.push(`refused ${count} ${reason}`),
      queued: (count, queueLength) => events.push(`queued ${count} behind ${queueLength - 1}`),
      aborted: (count, waitedMs, reason) => events.push(`aborted ${count} after ${waitedMs}: ${String(reason)}`),
      closed: (pendingRejected) => events.push(`closed ${pendingRejected}`),
    },
  };
}

/** What `events` add up to, as the counters of `stats()` they must equal. */
function tally(events: readonly string[]): Omit<TokenBucketStats, 'pending'> {
  const sum = (pattern: RegExp, value: (match: RegExpExecArray) => number = () => 1): number =>
    events.reduce((total, event) => {
      const match = pattern.exec(event);
      return match === null ? total : total + value(match);
    }, 0);
  const refused = (reason: RefusalReason): number => sum(new RegExp(`^refused \\d+ ${reason}$`));
  return {
    tokensGranted: sum(/^granted (\d+)/, (match) => Number(match[1])),
    granted: sum(/^granted /),
    denied: refused('denied'),
    maxWaitExceeded: refused('maxWaitExceeded'),
    queueFull: refused('queueFull'),
    aborted: sum(/^aborted /),
    closed: sum(/^closed (\d+)/, (match) => Number(match[1])),
    overCapacity: refused('overCapacity'),
  };
}

/**
 * The `observer` option, run against every implementation by `tokenBucketFilterSuite`: every call that
 * `stats()` counts is reported once, with its wait, at an exact instant of the fake clock; an observer
 * that throws or calls the bucket back changes nothing the bucket does.
 */
export function eventsSuite(name: string, create: SuiteFactory, hooks: SuiteHooks): void {
  const { it, tick, flush } = suiteTools(hooks);

  async function setup(
    options: Omit<SuiteOptions, 'clock' | 'observer'>,
    observer: BucketObserver = listener().observer,
  ): Promise<{ clock: FakeClock; bucket: SuiteBucket }> {
    const clock = createFakeClock();
    return { clock, bucket: await create({ ...options, observer, clock }) };
  }

  describe(`${name} (observer)`, () => {
    const realQueueMicrotask = globalThis.queueMicrotask;
    afterEach(() => {
      globalThis.queueMicrotask = realQueueMicrotask;
    });

    it('reports grants with each wait from the call, queueing with the queue ahead, aborts and the close', async () => {
      const heard = listener();
      const { clock, bucket } = await setup({ capacity: 2, refillInterval: 1000, initialTokens: 1 }, heard.observer);
      heard.events.length = 0; // what a view's own set-up calls did (other keys) is not this test's
      expect(await bucket.tryGetToken()).toBe(true);
      expect(await bucket.tryGetToken()).toBe(false);
      const first = track(bucket.getToken(), clock); // the token of 1000 ms
      await flush();
      await tick(clock, 500);
      const controller = new AbortController();
      const aborted = track(bucket.getToken(2, { signal: controller.signal }), clock);
      await flush();
      const second = track(bucket.getToken(1), clock); // at 2000 ms (the aborted one's tokens come back)
      await flush();
      await tick(clock, 250);
      controller.abort('gone');
      await flush();
      await tick(clock, 1250);
      const closedOne = track(bucket.getToken(2), clock);
      await flush();
      bucket.close();
      bucket.close(); // told once
      await flush();
      expect([first.at, second.at, aborted.state, closedOne.state]).toEqual([1000, 2000, 'rejected', 'rejected']);
      expect(heard.events).toEqual([
        'granted 1 after 0',
        'refused 1 denied',
        'queued 1 behind 0',
        'queued 2 behind 1',
        'queued 1 behind 2',
        'aborted 2 after 250: gone',
        'granted 1 after 1000',
        'granted 1 after 1500',
        'queued 2 behind 0',
        'closed 1',
      ]);
    });

    it('reports refusals with the stats() counter they are counted in, and adds up to stats() exactly', async () => {
      const heard = listener();
      const { clock, bucket } = await setup({ capacity: 3, initialTokens: 0, maxQueue: 3 }, heard.observer);
      const setUp = heard.events.splice(0); // a view's own set-up calls (other keys)
      // One at a time: a Redis bucket counts its calls in flight against maxQueue until they are answered.
      const calls = [];
      for (const [count, options] of [
        [2, {}], // at 2000 ms
        [1, { maxWait: 2000 }], // would come at 3000 ms: refused
        [1, { maxWait: 4000 }], // at 3000 ms, until the re-plan below
        [3, {}], // above the new capacity below
        [1, {}], // behind 3 callers: refused by maxQueue
      ] as const) {
        calls.push(track(bucket.getToken(count, options), clock));
        await flush();
      }
      expect(await bucket.tryGetToken()).toBe(false);
      await tick(clock, 1000);
      if (bucket.reconfigure === undefined) throw new Error(`${name} has no reconfigure()`);
      // At 1000 ms: capacity 2, one token every 4 s. The first call's second token comes at 5000 ms,
      // the next one's at 9000 ms (past its maxWait), and 3 tokens no longer fit.
      await bucket.reconfigure({ limits: [{ capacity: 2, refillInterval: 4000 }] }); // any bucket takes this form
      await flush();
      bucket.close();
      await flush();
      expect(calls.every((call) => call.state === 'rejected')).toBe(true);
      const refusals = heard.events.filter((event) => event.startsWith('refused'));
      expect(refusals.slice(0, 3)).toEqual(['refused 1 maxWaitExceeded', 'refused 1 queueFull', 'refused 1 denied']);
      // The re-plan's refusals, in an order the contract leaves open (Redis tells its over-capacity ones first).
      expect(refusals.slice(3).sort()).toEqual(['refused 1 maxWaitExceeded', 'refused 3 overCapacity']);
      expect(heard.events.at(-1)).toBe('closed 1');
      if (bucket.stats === undefined) return; // no stats() (features.stats)
      // Everything the bucket counted since its creation was heard, a view's set-up calls included.
      const { pending, ...counted } = bucket.stats();
      expect(pending).toBe(0);
      expect(tally([...setUp, ...heard.events])).toEqual(counted);
    });

    it('an observer that throws breaks nothing: its errors are rethrown in microtasks, and the bucket carries on', async () => {
      const thrown: unknown[] = [];
      globalThis.queueMicrotask = (callback) => {
        realQueueMicrotask(() => {
          try {
            callback();
          } catch (error) {
            thrown.push(error);
          }
        });
      };
      const boom = (): never => {
        throw new Error('observer bug');
      };
      const observer: BucketObserver = { granted: boom, queued: boom, aborted: boom, refused: boom, closed: boom };
      const { clock, bucket } = await setup({ capacity: 1, initialTokens: 0 }, observer);
      const controller = new AbortController();
      const waiting = [
        track(bucket.getToken(), clock),
        track(bucket.getToken(1, { signal: controller.signal }), clock),
      ];
      const last = track(bucket.getToken(), clock);
      await flush();
      controller.abort();
      await tick(clock, 2000);
      expect(await bucket.tryGetToken()).toBe(false);
      expect([waiting[0]?.at, waiting[1]?.state, last.at]).toEqual([1000, 'rejected', 2000]);
      bucket.close();
      await flush();
      expect(thrown.length).toBeGreaterThanOrEqual(8); // queued ×3, aborted, granted ×2, refused, closed
      expect(thrown.every((error) => (error as Error).message === 'observer bug')).toBe(true);
    });

    it('an observer that reads the bucket from its methods changes nothing it does', async () => {
      const observed: { bucket?: SuiteBucket } = {};
      const seen: number[] = [];
      const look = (): void => {
        const target = observed.bucket;
        if (target === undefined) return;
        seen.push(target.pending);
        void Promise.resolve(target.waitTime()).catch(() => undefined);
        void Promise.resolve(target.available).catch(() => undefined);
      };
      // Not from `closed`: a closed bucket's waitTime() throws (or rejects), as the contract says.
      const observer: BucketObserver = { granted: look, queued: look, aborted: look, refused: look };
      const { clock, bucket } = await setup({ capacity: 2, refillInterval: 100, initialTokens: 0 }, observer);
      observed.bucket = bucket;
      const controller = new AbortController();
      const calls = [
        track(bucket.getToken(2), clock),
        track(bucket.getToken(2, { signal: controller.signal }), clock),
        track(bucket.getToken(1), clock),
        track(bucket.getToken(2), clock),
      ];
      await flush();
      await tick(clock, 150);
      controller.abort();
      await flush();
      if (bucket.reconfigure !== undefined) await bucket.reconfigure({ limits: [{ capacity: 2, refillInterval: 50 }] });
      await tick(clock, 1000);
      await flush();
      // Reference instants, as with no observer: 200; aborted; then 300 and (after the
      // reconfiguration at 150 ms, one token every 50 ms from there) 400, or 500 without it.
      expect(calls.map((call) => call.at)).toEqual(
        bucket.reconfigure === undefined ? [200, 150, 300, 500] : [200, 150, 250, 350],
      );
      expect(seen.length).toBeGreaterThan(0);
      bucket.close();
    });
  });
}
