import { afterAll, describe, expect, it } from 'vitest';
import { MaxWaitExceededError } from '../src/errors.js';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { storedState } from './redis/storedState.js';
import { createFakeClock, flushPromises, type FakeClock } from './support/clock.js';

// Several limits, the configuration stored in the key, reconfigure() for every process sharing the key,
// and stats(), on a real Redis with client time driven by a fake clock (instances stand for processes).
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.reconfigure.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis buckets: limits, stored configuration, reconfigure(), stats()', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-reconfigure',
    ({ connection, prefix, key }) => {
      const open = (clock: FakeClock, name: string, options: object): RedisTokenBucketFilter =>
        new RedisTokenBucketFilter({
          client: connection.client,
          key: name,
          prefix,
          timeSource: 'client',
          clock,
          redisTimeout: 5000,
          ...options,
        } as never);

      it('several limits: a grant waits for the slower limit and takes from both, in every process', async () => {
        const clock = createFakeClock();
        const name = key();
        const limits = [
          { capacity: 2, refillTokens: 2, refillInterval: 1000 },
          { capacity: 3, refillTokens: 3, refillInterval: 10_000 },
        ];
        const [a, b] = [open(clock, name, { limits }), open(clock, name, { limits })] as const;
        expect(a.capacity).toBe(2);
        expect(await a.tryGetToken(2)).toBe(true);
        expect(await b.tryGetToken()).toBe(false);
        expect(await b.waitTime()).toBe(1000);
        const granted: number[] = [];
        const waiting = b.getToken(2).then(() => granted.push(clock.now));
        await b.idle();
        // The first limit has 2 again at 1000, the second only 1 until its step at 10 000.
        expect(await a.waitTime()).toBe(11_000);
        await clock.tickAsync(9_999);
        expect(granted).toEqual([]);
        await clock.tickAsync(1);
        await waiting;
        expect(granted).toEqual([10_000]);
        a.close();
        b.close();
      });

      it('a process created with other limits is decided on the stored ones, and refuses a count above their capacity', async () => {
        const clock = createFakeClock();
        const name = key();
        const first = open(clock, name, { capacity: 5, refillInterval: 1000 });
        expect(await first.tryGetToken()).toBe(true);
        const other = open(clock, name, { capacity: 50, refillInterval: 10 });
        expect(other.capacity).toBe(50);
        // The stored limits win: 4 tokens left of 5, not 49 of 50.
        expect(await other.available()).toBe(4);
        expect(other.capacity).toBe(5);
        await expect(other.tryGetToken(6)).rejects.toThrow(
          new RangeError('count must not exceed the capacity (5), received 6'),
        );
        await expect(other.getToken(6)).rejects.toThrow(RangeError);
        expect(await other.tryGetToken(4)).toBe(true);
        expect(await other.waitTime()).toBe(1000); // the stored refillInterval, not 10
        expect((await storedState(connection, other.redisKey))?.config).toBe('0|5:1:1000');
        first.close();
        other.close();
      });

      it('reconfigure() holds for every process sharing the key, carrying the tokens capped at the new capacity', async () => {
        const clock = createFakeClock();
        const name = key();
        const a = open(clock, name, { capacity: 10, refillTokens: 10, refillInterval: 1000 });
        const b = open(clock, name, { capacity: 10, refillTokens: 10, refillInterval: 1000 });
        expect(await a.tryGetToken(4)).toBe(true); // 6 left
        await a.reconfigure({ capacity: 3, refillTokens: 1 });
        expect(a.capacity).toBe(3);
        // Process b, created with capacity 10, now follows the stored limits: 3 tokens (6 capped at 3).
        expect(await b.available()).toBe(3);
        expect(b.capacity).toBe(3);
        expect(await b.tryGetToken(3)).toBe(true);
        // The schedule restarted at the reconfiguration: one token per 1000 ms from then.
        expect(await b.waitTime()).toBe(1000);
        await expect(b.tryGetToken(4)).rejects.toThrow(RangeError);
        // The key expires once full; a process that has seen the reconfiguration creates it again with
        // the new limits, not with the options it was created with.
        await connection.command('DEL', b.redisKey);
        expect(await b.tryGetToken()).toBe(true);
        expect((await storedState(connection, b.redisKey))?.config).toMatch(/^[1-9]\d*\|3:1:1000$/);
        expect(b.capacity).toBe(3);
        await expect(a.reconfigure({ capacity: 0 })).rejects.toThrow(
          /capacity must be a positive safe integer, received 0/,
        );
        a.close();
        await expect(a.reconfigure({ capacity: 3 })).rejects.toThrow(/closed/);
        b.close();
      });

      it("reconfigure() re-plans this instance's queued callers: over the new capacity → RangeError, a broken maxWait → MaxWaitExceededError, the rest move", async () => {
        const clock = createFakeClock();
        const name = key();
        const bucket = open(clock, name, { capacity: 10, refillTokens: 10, refillInterval: 1000 });
        expect(await bucket.tryGetToken(10)).toBe(true);
        const outcomes: string[] = [];
        const track = (label: string, promise: Promise<void>): Promise<void> =>
          promise.then(
            () => {
              outcomes.push(`${label} granted at ${clock.now}`);
            },
            (error: unknown) => {
              outcomes.push(`${label} ${(error as Error).name}`);
            },
          );
        const calls = [
          track('5a', bucket.getToken(5)),
          track('8', bucket.getToken(8)),
          track('5b', bucket.getToken(5, { maxWait: 3500 })),
          track('1', bucket.getToken(1)),
        ];
        await bucket.idle();
        // Planned at 1000, 2000, 3000, 3000. Slowed down to 2 tokens a second, capacity 5, from 0 tokens:
        // 8 is over the capacity; 5a comes at 3000; 5b would come at 6000, past its maxWait of 3500;
        // 1 comes at the next step, 4000.
        await bucket.reconfigure({ capacity: 5, refillTokens: 2 });
        await flushPromises();
        expect(outcomes).toEqual(['8 RangeError', '5b MaxWaitExceededError']);
        await clock.tickAsync(10_000);
        await Promise.all(calls);
        expect(outcomes).toEqual([
          '8 RangeError',
          '5b MaxWaitExceededError',
          '5a granted at 3000',
          '1 granted at 4000',
        ]);
        expect(bucket.stats()).toEqual({
          tokensGranted: 16,
          granted: 3,
          denied: 0,
          maxWaitExceeded: 1,
          aborted: 0,
          closed: 0,
          overCapacity: 1,
          pending: 0,
        });
        bucket.close();
      });

      it('callers of another process keep their reservations; the new limits take over after the last of them', async () => {
        const clock = createFakeClock();
        const name = key();
        const a = open(clock, name, { capacity: 1, refillInterval: 1000 });
        const b = open(clock, name, { capacity: 1, refillInterval: 1000 });
        expect(await a.tryGetToken()).toBe(true);
        const granted: number[] = [];
        const waiting = [b.getToken(), b.getToken()].map((p) => p.then(() => granted.push(clock.now)));
        await b.idle();
        await a.reconfigure({ capacity: 10, refillTokens: 10, refillInterval: 100 });
        // b's callers keep 1000 and 2000; a newcomer waits for the tail (2000), then the new limits.
        expect(await a.waitTime()).toBe(2100);
        await clock.tickAsync(2000);
        await Promise.all(waiting);
        expect(granted).toEqual([1000, 2000]);
        a.close();
        b.close();
      });

      it('stats() counts this instance: grants, denials, maxWait, aborts and closes', async () => {
        const clock = createFakeClock();
        const bucket = open(clock, key(), { capacity: 2, refillInterval: 1000 });
        expect(await bucket.tryGetToken(2)).toBe(true);
        expect(await bucket.tryGetToken()).toBe(false);
        await expect(bucket.getToken(1, { maxWait: 10 })).rejects.toThrow(MaxWaitExceededError);
        const controller = new AbortController();
        const aborted = bucket.getToken(1, { signal: controller.signal });
        const closed = bucket.getToken(1);
        await bucket.idle();
        expect(bucket.stats().pending).toBe(2);
        controller.abort();
        await expect(aborted).rejects.toThrow();
        bucket.close();
        await expect(closed).rejects.toThrow(/closed/);
        expect(bucket.stats()).toEqual({
          tokensGranted: 2,
          granted: 1,
          denied: 1,
          maxWaitExceeded: 1,
          aborted: 1,
          closed: 1,
          overCapacity: 0,
          pending: 0,
        });
      });

      it('keyed store: several limits per key, stats over all keys, and reconfigure() taken by each key at its next use', async () => {
        const clock = createFakeClock();
        const keyed = new RedisKeyedTokenBucketFilter({
          client: connection.client,
          prefix: `${prefix}keyed-${key()}:`,
          limits: [
            { capacity: 2, refillTokens: 2, refillInterval: 1000 },
            { capacity: 3, refillTokens: 3, refillInterval: 10_000 },
          ],
          timeSource: 'client',
          clock,
          redisTimeout: 5000,
        });
        expect(await keyed.tryGetToken('u1', 2)).toBe(true);
        expect(await keyed.tryGetToken('u1')).toBe(false);
        expect(await keyed.tryGetToken('u2', 2)).toBe(true);
        expect(await keyed.waitTime('u1')).toBe(1000);
        await keyed.reconfigure({ limits: [{ capacity: 5, refillTokens: 5, refillInterval: 1000 }] });
        expect(keyed.capacity).toBe(5);
        // u1 held 0 of the first limit: it carries 0, and gets 5 one second after the reconfiguration.
        expect(await keyed.tryGetToken('u1')).toBe(false);
        expect(await keyed.waitTime('u1', 5)).toBe(1000);
        expect(keyed.stats()).toMatchObject({ granted: 2, tokensGranted: 4, denied: 2, pending: 0 });
        await expect(
          Promise.resolve().then(
            () =>
              new RedisKeyedTokenBucketFilter({
                client: connection.client,
                limits: [{ capacity: 2, initialTokens: 1 }],
              }),
          ),
        ).rejects.toThrow(/limits\[0\]\.initialTokens must equal capacity \(2\)/);
        keyed.close();
      });
    },
  );
});
