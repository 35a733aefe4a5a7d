import { getEventListeners } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidClockReadingError, LazyTokenBucketFilter } from '../src/index.js';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { countingRunner, type CountingRunner } from './redis/counting.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { breakableClock, createFakeClock, flushPromises, track } from './support/clock.js';

// Hostile input specific to the Redis store, against a real Redis: broken clocks must send nothing,
// options are read as own properties, and the script must accept (and compute exactly) every bucket
// the core accepts. Fake clocks with timeSource 'client'; idle() waits for the real I/O.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.hostile.test.ts', target.skip);

const scriptCalls = (runner: CountingRunner): number => runner.evalshaCalls + runner.evalCalls;

/** Expects `call()` to return (not throw) a promise rejecting with an InvalidClockReadingError. */
async function expectInvalidReading(call: () => Promise<unknown>): Promise<void> {
  let promise: Promise<unknown> | undefined;
  expect(() => (promise = call())).not.toThrow();
  await expect(promise).rejects.toBeInstanceOf(InvalidClockReadingError);
}

const READINGS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 43, '5', undefined];

describe.skipIf('skip' in target)('Redis store: hostile input', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-hostile',
    ({ connection, prefix, key }) => {
      it.each(READINGS)(
        "with timeSource 'client', a reading of %s sends no script call: every call rejects with InvalidClockReadingError, whatever failMode and fallback say",
        async (reading) => {
          // Regression: the reading went to the script as it was ('NaN', or '5' read as 5 ms), and with
          // failMode 'open' or a fallback the refusal that followed was turned into a grant.
          const { clock, breakWith, mend } = breakableClock();
          const runner = countingRunner(connection.client);
          const fallback = new LazyTokenBucketFilter({ capacity: 5 });
          for (const extra of [{}, { failMode: 'open' as const }, { fallback }]) {
            const bucket = new RedisTokenBucketFilter({
              client: runner,
              key: key(),
              prefix,
              capacity: 2,
              timeSource: 'client',
              clock,
              ...extra,
            });
            breakWith(reading);
            const sent = scriptCalls(runner);
            await expectInvalidReading(() => bucket.getToken());
            await expectInvalidReading(() => bucket.getToken(1, { signal: new AbortController().signal }));
            await expectInvalidReading(() => bucket.tryGetToken());
            await expectInvalidReading(() => bucket.waitTime());
            await expectInvalidReading(() => bucket.available());
            expect(scriptCalls(runner)).toBe(sent);
            expect(bucket.pending).toBe(0);
            expect(
              () => new RedisTokenBucketFilter({ client: runner, key: 'k', capacity: 1, timeSource: 'client', clock }),
            ).toThrow(InvalidClockReadingError);
            mend();
            expect(await bucket.tryGetToken(2)).toBe(true); // nothing was taken on the broken readings
            bucket.close();
          }
          expect(fallback.available).toBe(5);
          fallback.close();
        },
      );

      it("keyed, with timeSource 'client': an invalid reading sends no script call for any key", async () => {
        const { clock, breakWith, mend } = breakableClock();
        const runner = countingRunner(connection.client);
        const keyed = new RedisKeyedTokenBucketFilter({
          client: runner,
          prefix: `${prefix}keyed-clock:`,
          capacity: 2,
          timeSource: 'client',
          clock,
        });
        for (const reading of READINGS) {
          breakWith(reading);
          await expectInvalidReading(() => keyed.getToken('alice'));
          await expectInvalidReading(() => keyed.tryGetToken('alice'));
          await expectInvalidReading(() => keyed.waitTime('bob'));
          await expectInvalidReading(() => keyed.available('carol'));
        }
        expect(scriptCalls(runner)).toBe(0);
        expect(keyed.pending).toBe(0);
        mend();
        expect(await keyed.tryGetToken('alice', 2)).toBe(true);
        keyed.close();
      });

      it('with Redis time, the local clock only paces sleeps: getToken() refuses an invalid local reading and sends nothing; the rest need no local clock', async () => {
        // Regression: the call was sent and its grant instant computed from NaN (or Infinity: never).
        const { clock, breakWith } = breakableClock();
        const runner = countingRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({ client: runner, key: key(), prefix, capacity: 2, clock });
        breakWith(Number.NaN);
        await expectInvalidReading(() => bucket.getToken());
        expect(scriptCalls(runner)).toBe(0);
        expect(await bucket.tryGetToken()).toBe(true);
        expect(await bucket.available()).toBe(1);
        expect(await bucket.waitTime()).toBe(0);
        bucket.close();
      });

      it('a negative client reading is a reading like any other, never "use Redis TIME"', async () => {
        // Regression: the script took any now < 0 for "read TIME", so a clock reading -10 s (valid:
        // readings may be negative) compared epoch µs with an origin near 0 and saw a full bucket.
        const { clock, fake } = breakableClock(-10_000);
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 2,
          refillInterval: 1000,
          initialTokens: 0,
          timeSource: 'client',
          clock,
        });
        expect(await bucket.tryGetToken()).toBe(false);
        expect(await bucket.waitTime()).toBe(1000);
        const call = track(bucket.getToken(), fake);
        await bucket.idle();
        await fake.tickAsync(1000);
        expect(call).toMatchObject({ state: 'granted', at: 1000 });
        expect(await bucket.available()).toBe(0);
        await fake.tickAsync(5000); // client time: 5 steps, not the few real ms Redis TIME would see
        expect(await bucket.available()).toBe(2);
        bucket.close();
      });

      it('accepts every refillInterval the core accepts (1/3 ms) and computes the same instants and counts as the lazy bucket', async () => {
        // Regression: refused with "refillInterval must be a whole number of microseconds".
        const options = { capacity: 5, refillTokens: 2, refillInterval: 1 / 3, initialTokens: 0 };
        const fake = createFakeClock();
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          timeSource: 'client',
          clock: fake,
          ...options,
        });
        const lazy = new LazyTokenBucketFilter({ ...options, clock: fake });
        const seen: unknown[] = [];
        const expected: unknown[] = [];
        for (let ms = 0; ms < 40; ms += 1) {
          const count = (ms % 5) + 1;
          seen.push([ms, await bucket.waitTime(count), await bucket.available(), await bucket.tryGetToken(count)]);
          expected.push([ms, lazy.waitTime(count), lazy.available, lazy.tryGetToken(count)]);
          await fake.tickAsync(ms % 3 === 0 ? 1 : 2);
        }
        expect(seen).toEqual(expected); // the very same doubles, not just close ones
        // And a queue on the fractional schedule is granted at the same instants as the lazy bucket's.
        const grants = Array.from({ length: 6 }, () => track(bucket.getToken(5), fake));
        const lazyGrants = Array.from({ length: 6 }, () => track(lazy.getToken(5), fake));
        await bucket.idle();
        await fake.tickAsync(20);
        expect(grants.map((grant) => grant.at)).toEqual(lazyGrants.map((grant) => grant.at));
        bucket.close();
        lazy.close();
      });

      it('a bucket that would be full only in 10^12 years still works: the key TTL is capped instead of refused by PEXPIRE', async () => {
        // Regression: the TTL (4 × 10^21 ms) overflowed PEXPIRE, every call failed, and the bucket
        // failed closed for good.
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 1e9,
          refillTokens: 1,
          refillInterval: 2 ** 42,
        });
        expect(await bucket.tryGetToken(1e9)).toBe(true);
        const ttl = Number(await connection.command('PTTL', bucket.redisKey));
        expect(ttl).toBeGreaterThan(2 ** 43);
        expect(ttl).toBeLessThanOrEqual(2 ** 44);
        expect(await bucket.tryGetToken()).toBe(false);
        expect(await bucket.waitTime()).toBeGreaterThan(2 ** 41);
        bucket.close();
      });

      it('reads options as own properties only: a polluted Object.prototype (prefix, key, timeSource, redisTimeout, kind) changes nothing', async () => {
        const prototype = Object.prototype as Record<string, unknown>;
        const polluted = { prefix: 'evil:', key: 'evil', timeSource: 'client', redisTimeout: 0.001, kind: 'timer' };
        const name = key();
        let bucket: RedisTokenBucketFilter;
        let keyed: RedisKeyedTokenBucketFilter;
        try {
          Object.assign(prototype, polluted);
          bucket = new RedisTokenBucketFilter({ client: connection.client, key: name, prefix, capacity: 1 });
          keyed = new RedisKeyedTokenBucketFilter({ client: connection.client, capacity: 1 });
          expect(() => new RedisTokenBucketFilter({ client: connection.client, capacity: 1 } as never)).toThrow(
            /key must be a non-empty string, received undefined/,
          );
        } finally {
          for (const option of Object.keys(polluted)) Reflect.deleteProperty(prototype, option);
        }
        expect(bucket.redisKey).toBe(`${prefix}{${name}}`);
        expect(await bucket.tryGetToken()).toBe(true); // Redis time and the default 1 s redisTimeout
        expect(await bucket.tryGetToken()).toBe(false);
        expect(await keyed.tryGetToken(name)).toBe(true);
        expect(Number(await connection.command('EXISTS', `tbf:{${name}}`))).toBe(1); // the default prefix
        await connection.command('DEL', `tbf:{${name}}`);
        bucket.close();
        keyed.close();
      });

      it('keyed: one signal shared by callers of many keys holds one listener, and none once they settle', async () => {
        // Regression: one listener per caller (20 here), and MaxListenersExceededWarning beyond 10.
        const fake = createFakeClock();
        const keyed = new RedisKeyedTokenBucketFilter({
          client: connection.client,
          prefix: `${prefix}keyed-signal:${key()}:`,
          capacity: 1,
          refillInterval: 100,
          timeSource: 'client',
          clock: fake,
        });
        const controller = new AbortController();
        const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
        for (const user of users) expect(await keyed.tryGetToken(user)).toBe(true);
        const calls = users.flatMap((user) =>
          [0, 1].map(() => track(keyed.getToken(user, 1, { signal: controller.signal }), fake)),
        );
        await keyed.idle();
        await flushPromises();
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
        await fake.tickAsync(100); // each user's first caller is granted
        controller.abort(new Error('shutdown'));
        await flushPromises();
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
        expect(calls.map((call) => call.state)).toEqual(users.flatMap(() => ['granted', 'rejected']));
        expect(keyed.pending).toBe(0);
        keyed.close();
      });

      it('a getToken() refused by a throwing addEventListener does not hold back the withdraw of a later abort', async () => {
        // Regression: the refused call was counted as a take in flight whose answer never came, so the
        // withdraw of the aborted caller below waited for it forever and the caller behind never moved up.
        const fake = createFakeClock();
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 1,
          initialTokens: 0,
          refillInterval: 1000,
          timeSource: 'client',
          clock: fake,
        });
        const controller = new AbortController();
        const aborted = track(bucket.getToken(1, { signal: controller.signal }), fake); // at 1000
        const behind = track(bucket.getToken(), fake); // at 2000
        await bucket.idle();
        const throwing = {
          aborted: false,
          addEventListener() {
            throw new Error('no listeners here');
          },
          removeEventListener() {},
        } as unknown as AbortSignal;
        await expect(bucket.getToken(1, { signal: throwing })).rejects.toThrow('no listeners here');
        controller.abort();
        await bucket.idle();
        await fake.tickAsync(1000);
        expect([aborted.state, behind.state, behind.at]).toEqual(['rejected', 'granted', 1000]);
        bucket.close();
      });

      it("an abort gives the tokens back and moves this instance's callers up only when nobody else reserved since", async () => {
        // Regression: the callers behind an aborted one kept their instants even when all of them were
        // this instance's own. Two instances on one key stand for two processes.
        const fake = createFakeClock();
        const name = key();
        const options = {
          client: connection.client,
          key: name,
          prefix,
          capacity: 1,
          initialTokens: 0,
          refillInterval: 1000,
          timeSource: 'client' as const,
          clock: fake,
        };
        const a = new RedisTokenBucketFilter(options);
        const b = new RedisTokenBucketFilter(options);
        const settle = () => Promise.all([a.idle(), b.idle()]);
        // Only a's own callers on top: a2 moves up to a1's instant, and b's later caller behind it.
        const a1 = new AbortController();
        const aborted = track(a.getToken(1, { signal: a1.signal }), fake); // at 1000
        const mine = track(a.getToken(), fake); // at 2000
        await settle();
        a1.abort();
        await settle();
        const theirs = track(b.getToken(), fake); // behind mine
        await settle();
        await fake.tickAsync(2000);
        expect([aborted.state, mine.at, theirs.at]).toEqual(['rejected', 1000, 2000]);
        // b reserved on top of a's caller: a's abort changes nobody's instant, and its step passes unused.
        const a2 = new AbortController();
        const abortedAgain = track(a.getToken(1, { signal: a2.signal }), fake); // at 3000
        const mineAgain = track(a.getToken(), fake); // at 4000
        await settle();
        const theirsAgain = track(b.getToken(), fake); // at 5000, on top of mineAgain
        await settle();
        a2.abort();
        await settle();
        await fake.tickAsync(3000);
        expect([abortedAgain.state, mineAgain.at, theirsAgain.at]).toEqual(['rejected', 4000, 5000]);
        // b reserved between two of a's callers: a's own are not on top of each other, so nothing moves
        // (moving a's second caller down would free b's step for a later caller: two grants in one step).
        const a3 = new AbortController();
        const third = track(a.getToken(1, { signal: a3.signal }), fake); // at 6000
        await settle();
        const between = track(b.getToken(), fake); // at 7000
        await settle();
        const above = track(a.getToken(), fake); // at 8000
        await settle();
        a3.abort();
        await settle();
        const later = track(b.getToken(), fake); // at 9000: neither 7000 (b's) nor 8000 (a's)
        await settle();
        await fake.tickAsync(4000);
        expect([third.state, between.at, above.at, later.at]).toEqual(['rejected', 7000, 8000, 9000]);
        expect(await a.available()).toBe(0);
        a.close();
        b.close();
      });
    },
  );
});
