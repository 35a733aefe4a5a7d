import { afterAll, describe, expect, it } from 'vitest';
import { QueueFullError, RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, track } from './support/clock.js';

// maxQueue on Redis caps each instance's own queue (this process's calls in flight and asleep): what
// the conformance suite cannot see through one instance. Client time on a fake clock, so the instants
// are exact.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.queueCap.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis stores: maxQueue per instance', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-queue-cap',
    ({ connection, prefix, key }) => {
      it("caps each process's own queue: another instance's callers on the key do not count", async () => {
        const clock = createFakeClock();
        const name = key();
        const common = { client: connection.client, key: name, prefix, timeSource: 'client' as const, clock };
        const a = new RedisTokenBucketFilter({ ...common, capacity: 1, initialTokens: 0, maxQueue: 1 });
        const b = new RedisTokenBucketFilter({ ...common, capacity: 1, initialTokens: 0 });
        const first = track(a.getToken(), clock);
        await expect(a.getToken()).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 1, maxQueue: 1 });
        const others = [track(b.getToken(), clock), track(b.getToken(), clock)];
        await Promise.all([a.idle(), b.idle()]);
        expect(await b.waitTime()).toBe(4000); // nothing was reserved for the refused call
        expect([a.stats().queueFull, b.stats().queueFull]).toEqual([1, 0]);
        await clock.tickAsync(3000);
        await Promise.all([a.idle(), b.idle()]);
        expect([first.at, ...others.map((o) => o.at)]).toEqual([1000, 2000, 3000]);
        a.close();
        b.close();
      });

      it('caps each key of the keyed store on its own, and reconfigure({ maxQueue }) sends nothing', async () => {
        const clock = createFakeClock();
        const keyed = new RedisKeyedTokenBucketFilter({
          client: connection.client,
          prefix: `${prefix}${key()}:`,
          timeSource: 'client',
          clock,
          capacity: 1,
          maxQueue: 1,
        });
        expect(await keyed.tryGetToken('alice')).toBe(true);
        expect(await keyed.tryGetToken('bob')).toBe(true);
        const alice = track(keyed.getToken('alice'), clock);
        const bob = track(keyed.getToken('bob'), clock);
        await expect(keyed.getToken('alice')).rejects.toBeInstanceOf(QueueFullError);
        await keyed.reconfigure({ maxQueue: 2 });
        const aliceAgain = track(keyed.getToken('alice'), clock);
        await keyed.idle();
        expect(keyed.stats()).toMatchObject({ queueFull: 1, pending: 3 });
        await clock.tickAsync(2000);
        await keyed.idle();
        expect([alice.at, bob.at, aliceAgain.at]).toEqual([1000, 1000, 2000]);
        keyed.close();
      });
    },
  );
});
