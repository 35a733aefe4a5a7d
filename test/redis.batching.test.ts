import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  MaxWaitExceededError,
  RedisKeyedTokenBucketFilter,
  RedisTimeoutError,
  RedisTokenBucketFilter,
  RedisUnavailableError,
} from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { gatedRunner, sent, takesOf } from './redis/gated.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

// Takes batched per key (src/redis/ScriptCaller.ts): while a script call of takes on a key is in
// flight, the takes made on that key wait and then travel together in the next call, which the script
// decides in their order. A gated runner holds calls back, so that the test decides what is in flight.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.batching.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis buckets: takes batched per key', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-batch',
    ({ connection, prefix, key }) => {
      it('takes made while one is in flight travel together in the next call, decided in call order', async () => {
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 3,
          refillInterval: 60_000,
        });
        runner.hold();
        const answers = Array.from({ length: 6 }, () => bucket.tryGetToken());
        await flushPromises();
        expect(sent(runner).map((call) => takesOf(call, false))).toEqual([1]); // the first one alone, held
        runner.release();
        expect(await Promise.all(answers)).toEqual([true, true, true, false, false, false]);
        expect(sent(runner).map((call) => takesOf(call, false))).toEqual([1, 5]);
        bucket.close();
      });

      it('one call carries at most 128 takes; the rest follow in the next calls, in order', async () => {
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({ client: runner, key: key(), prefix, capacity: 250 });
        runner.hold();
        const answers = Array.from({ length: 300 }, () => bucket.tryGetToken());
        runner.release();
        const granted = await Promise.all(answers);
        expect(granted.indexOf(false)).toBe(250); // the first 250 in call order, then none
        expect(granted.slice(250).every((answer) => !answer)).toBe(true);
        expect(sent(runner).map((call) => takesOf(call, false))).toEqual([1, 128, 128, 43]);
        bucket.close();
      });

      it('one batch holds grants, reservations and refusals, each caller with its own outcome', async () => {
        const clock = createFakeClock();
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 2,
          refillInterval: 1000,
          timeSource: 'client',
          clock,
        });
        runner.hold();
        const first = track(bucket.getToken(), clock); // sent alone: 1 token left
        const tried = bucket.tryGetToken(); // the last token
        const tooLate = bucket.getToken(1, { maxWait: 500 }).catch((error: unknown) => error);
        const refused = bucket.tryGetToken();
        const reserved = track(bucket.getToken(), clock); // at 1000
        const two = track(bucket.getToken(2, { maxWait: 5000 }), clock); // at 3000
        runner.release();
        await bucket.idle();
        expect(sent(runner).map((call) => takesOf(call, true))).toEqual([1, 5]);
        expect(first.state).toBe('granted');
        expect(await tried).toBe(true);
        expect(await tooLate).toEqual(new MaxWaitExceededError(1000, 500));
        expect(await refused).toBe(false);
        await clock.tickAsync(1000);
        expect(reserved).toMatchObject({ state: 'granted', at: 1000 });
        await clock.tickAsync(2000);
        expect(two).toMatchObject({ state: 'granted', at: 3000 });
        bucket.close();
      });

      it('a failure of the batched call fails every take in it; the key goes on after', async () => {
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 5,
          breakerCooldown: 0,
        });
        runner.hold();
        const first = bucket.getToken();
        const batched = [bucket.getToken(), bucket.getToken(2).catch((error: unknown) => error)];
        const tried = bucket.tryGetToken();
        const boom = new Error('connection reset');
        runner.failFrom(1, boom);
        runner.release();
        await expect(first).resolves.toBeUndefined();
        const errors = await Promise.all(batched.map((promise) => promise.catch((error: unknown) => error)));
        for (const error of errors) {
          expect(error).toBeInstanceOf(RedisUnavailableError);
          expect((error as RedisUnavailableError).cause).toBe(boom);
        }
        expect(await tried).toBe(false); // failMode 'closed'
        expect(sent(runner).map((call) => takesOf(call, false))).toEqual([1, 3]);
        runner.failFrom(Number.POSITIVE_INFINITY, boom);
        expect(await bucket.tryGetToken(4)).toBe(true); // nothing was taken by the failed batch
        bucket.close();
      });

      it('a take aborted while it waits for its batch sends nothing, and the callers behind it move up', async () => {
        const clock = createFakeClock();
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 1,
          refillInterval: 1000,
          timeSource: 'client',
          clock,
        });
        runner.hold();
        const first = track(bucket.getToken(), clock);
        const controller = new AbortController();
        const aborted = bucket.getToken(1, { signal: controller.signal });
        const behind = track(bucket.getToken(), clock);
        const reason = new Error('user left');
        controller.abort(reason);
        await expect(aborted).rejects.toBe(reason);
        runner.release();
        await bucket.idle();
        expect(sent(runner).map((call) => takesOf(call, true))).toEqual([1, 1]); // only the one behind
        expect(first.state).toBe('granted');
        await clock.tickAsync(1000);
        expect(behind).toMatchObject({ state: 'granted', at: 1000 }); // not 2000
        bucket.close();
      });

      it('a take that timed out while it waited for its batch is never sent; its tokens stay free', async () => {
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 2,
          refillInterval: 60_000,
          redisTimeout: 50,
          breakerCooldown: 0,
        });
        runner.hold();
        // Both calls at one reading of the real clock, so both deadlines are the same instant: the one
        // behind has timed out when the first's timeout frees the key (a reading between them let a
        // loaded CI run send it, rightly, just before its own deadline).
        const spy = vi.spyOn(globalThis.performance, 'now').mockReturnValue(globalThis.performance.now());
        const outcomes = [bucket.getToken(), bucket.getToken()].map((promise) =>
          promise.catch((error: unknown) => error),
        );
        spy.mockRestore();
        for (const error of await Promise.all(outcomes)) {
          expect((error as RedisUnavailableError).cause).toBeInstanceOf(RedisTimeoutError);
        }
        runner.release();
        await bucket.idle(); // the first one's late reply came: its reservation went back
        expect(
          sent(runner)
            .filter((call) => call.args[0] === '1')
            .map((call) => takesOf(call, false)),
        ).toEqual([1]);
        expect(await bucket.tryGetToken(2)).toBe(true);
        bucket.close();
      });

      it('a call of another kind never overtakes the takes waiting on its key', async () => {
        const clock = createFakeClock();
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 1,
          refillInterval: 1000,
          timeSource: 'client',
          clock,
        });
        runner.hold();
        const first = bucket.getToken();
        const second = bucket.getToken();
        const wait = bucket.waitTime();
        runner.release();
        expect(await wait).toBe(2000); // it sees both reservations
        expect(sent(runner).map((call) => call.args[0])).toEqual(['1', '1', '0']);
        await first;
        bucket.close();
        await expect(second).rejects.toThrow('closed');
      });

      it("with Redis time, a take's maxWait counts the time it waited for its batch", async () => {
        const clock = createFakeClock();
        const runner = gatedRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({ client: runner, key: key(), prefix, capacity: 5, clock });
        runner.hold();
        const first = bucket.getToken();
        const second = bucket.getToken(1, { maxWait: 1000 });
        clock.tick(30);
        runner.release();
        await Promise.all([first, second]);
        expect(sent(runner)[1]?.args.slice(4)).toEqual(['1', '1', '970']); // one run: 1 take of 1, maxWait 970
        bucket.close();
      });

      it('the keyed store batches per key: each key has its own call in flight', async () => {
        const runner = gatedRunner(connection.client);
        const keyed = new RedisKeyedTokenBucketFilter({ client: runner, prefix: `${prefix}${key()}:`, capacity: 2 });
        runner.hold();
        const answers = [
          keyed.tryGetToken('a'),
          keyed.tryGetToken('b'),
          ...Array.from({ length: 3 }, () => keyed.tryGetToken('a')),
          ...Array.from({ length: 3 }, () => keyed.tryGetToken('b')),
        ];
        runner.release();
        expect(await Promise.all(answers)).toEqual([true, true, true, false, false, true, false, false]);
        expect(sent(runner).map((call) => [call.key.slice(-3), takesOf(call, false)])).toEqual([
          ['{a}', 1],
          ['{b}', 1],
          ['{a}', 3],
          ['{b}', 3],
        ]);
        keyed.close();
      });
    },
  );
});
