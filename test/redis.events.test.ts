import { afterAll, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, track } from './support/clock.js';

// The keyed Redis store's observer is told the key of each event (what the conformance suite, through
// one key, cannot see). Client time on a fake clock, so the waits are exact.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.events.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis keyed store: observer', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-events',
    ({ connection, prefix, key }) => {
      it('tells the key of each event, and the close once for every key', async () => {
        const clock = createFakeClock();
        const heard: string[] = [];
        const keyed = new RedisKeyedTokenBucketFilter({
          client: connection.client,
          prefix: `${prefix}${key()}:`,
          timeSource: 'client',
          clock,
          capacity: 1,
          observer: {
            granted: (count, waitedMs, name) => heard.push(`${name}: granted ${count} after ${waitedMs}`),
            queued: (count, queueLength, name) => heard.push(`${name}: queued ${count} (${queueLength})`),
            refused: (count, reason, name) => heard.push(`${name}: refused ${count} ${reason}`),
            closed: (pendingRejected) => heard.push(`closed ${pendingRejected}`),
          },
        });
        expect(await keyed.tryGetToken('alice')).toBe(true);
        expect(await keyed.tryGetToken('alice')).toBe(false);
        const alice = track(keyed.getToken('alice'), clock);
        await keyed.idle();
        const bob = [track(keyed.getToken('bob'), clock), track(keyed.getToken('bob'), clock)];
        await keyed.idle();
        await clock.tickAsync(1000);
        await keyed.idle();
        const closed = track(keyed.getToken('bob'), clock);
        await keyed.idle();
        keyed.close();
        await keyed.idle();
        expect([alice.at, bob[0]?.at, bob[1]?.at, closed.state]).toEqual([1000, 0, 1000, 'rejected']);
        expect(heard).toEqual([
          'alice: granted 1 after 0',
          'alice: refused 1 denied',
          'alice: queued 1 (1)',
          'bob: granted 1 after 0',
          'bob: queued 1 (1)',
          'alice: granted 1 after 1000',
          'bob: granted 1 after 1000',
          'bob: queued 1 (1)',
          'closed 1',
        ]);
      });
    },
  );
});
