import { afterAll, describe, expect, it } from 'vitest';
import { RedisTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, track } from './support/clock.js';

// An aborted reservation that another process reserved on top of cannot be replayed (only the tail
// can be rewritten), but its tokens go back to the tail when that is exact: when from the state before
// it a refill at every step up to the tail stays within the capacity, the cap never bound since, so
// the tail without it holds exactly its count more, and nobody's instant moves (issue 11, item 3).
// Two instances on one key stand for two processes; client time on a fake clock, a real Redis.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.stranded.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis store: aborted reservations below another process’s', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-stranded',
    ({ connection, prefix, key }) => {
      function pair(capacity: number) {
        const fake = createFakeClock();
        const options = {
          client: connection.client,
          key: key(),
          prefix,
          capacity,
          initialTokens: 0,
          refillInterval: 1000,
          timeSource: 'client' as const,
          clock: fake,
        };
        const a = new RedisTokenBucketFilter(options);
        const b = new RedisTokenBucketFilter(options);
        const settle = () => Promise.all([a.idle(), b.idle()]);
        return { a, b, fake, settle };
      }

      it('goes back when the cap cannot have absorbed it: the next caller gets its step, and nobody else moves', async () => {
        // Regression: it stayed taken ("its step passes unused"): the next caller waited one step more.
        const { a, b, fake, settle } = pair(10);
        const controller = new AbortController();
        const aborted = track(a.getToken(1, { signal: controller.signal }), fake); // at 1000
        await settle();
        const theirs = track(b.getToken(), fake); // at 2000, on top of a's
        await settle();
        controller.abort();
        await settle();
        const next = track(a.getToken(), fake); // at 2000 too: the bucket then holds 2 (a's token was never used)
        const after = track(b.getToken(), fake); // at 3000
        await settle();
        await fake.tickAsync(3000);
        expect([aborted.state, theirs.at, next.at, after.at]).toEqual(['rejected', 2000, 2000, 3000]);
        expect(await b.available()).toBe(0);
        a.close();
        b.close();
      });

      it('several aborted together go back in one return; one aborted after a return stays taken, and none goes back twice', async () => {
        const { a, b, fake, settle } = pair(10);
        const together = new AbortController();
        const later = new AbortController();
        const mine = [
          track(a.getToken(1, { signal: together.signal }), fake), // 1000
          track(a.getToken(1, { signal: together.signal }), fake), // 2000
          track(a.getToken(1, { signal: later.signal }), fake), // 3000
        ];
        await settle();
        const theirs = track(b.getToken(), fake); // 4000
        await settle();
        together.abort();
        await settle();
        // A return was made since the third was reserved: the state before it, as it knows it, may
        // predate that return's tokens, so it is not trusted (it could hide a cap that then binds).
        later.abort();
        await settle();
        a.close();
        await settle();
        await fake.tickAsync(4000);
        expect([...mine.map((call) => call.state), theirs.at]).toEqual(['rejected', 'rejected', 'rejected', 4000]);
        // 4 steps by 4000, b's and the third's tokens taken: 2 left, nothing given back twice.
        expect(await b.available()).toBe(2);
        b.close();
      });

      it('stays taken when the cap may have absorbed it: capacity 1, another step on top', async () => {
        const { a, b, fake, settle } = pair(1);
        const controller = new AbortController();
        const aborted = track(a.getToken(1, { signal: controller.signal }), fake); // at 1000
        await settle();
        const theirs = track(b.getToken(), fake); // at 2000
        await settle();
        controller.abort();
        await settle();
        // Without a's reservation the bucket holds 1 at 1000 and still only 1 at 2000 (capped): b's
        // take leaves 0, exactly as with it. Giving a's token back would grant step 2000 twice.
        const next = track(a.getToken(), fake);
        await settle();
        await fake.tickAsync(3000);
        expect([aborted.state, theirs.at, next.at]).toEqual(['rejected', 2000, 3000]);
        a.close();
        b.close();
      });

      it('close() gives back the ones below another process’s too', async () => {
        const { a, b, fake, settle } = pair(10);
        const mine = track(a.getToken(), fake); // at 1000
        await settle();
        const theirs = track(b.getToken(), fake); // at 2000
        await settle();
        a.close();
        await settle();
        const next = track(b.getToken(), fake); // at 2000: a's token is back
        await settle();
        await fake.tickAsync(2000);
        expect([mine.state, theirs.at, next.at]).toEqual(['rejected', 2000, 2000]);
        b.close();
      });
    },
  );
});
