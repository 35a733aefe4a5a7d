import { afterAll, describe, expect, it } from 'vitest';
import { InvalidClockReadingError } from '../src/index.js';
import {
  RedisTokenBucketFilter,
  scriptRunner,
  type RedisClientLike,
  type RedisScriptRunner,
} from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { breakableClock, track } from './support/clock.js';

// With timeSource 'client', no broken reading (NaN, ±Infinity, beyond ±2^42 ms) ever reaches the
// script, on any path: takes, batched takes, give-backs (withdraws, close(), late replies),
// reconfigure(), waitTime() and available(); and what could not be given back on a broken reading goes
// back once the clock is mended (issue 11, item 4). A real Redis, a fake clock, every client.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.clockReadings.test.ts', target.skip);

/** A runner around a real client that records the arguments of every script call. */
function recordingRunner(client: RedisClientLike): RedisScriptRunner & { sent: string[][] } {
  const inner = scriptRunner(client);
  const sent: string[][] = [];
  return {
    sent,
    evalsha: (sha, keys, args) => {
      sent.push([...args]);
      return inner.evalsha(sha, keys, args);
    },
    eval: (script, keys, args) => {
      sent.push([...args]);
      return inner.eval(script, keys, args);
    },
  };
}

/** The arguments sent that are not numbers the script can use (a broken reading went out). */
function brokenArguments(sent: readonly string[][]): string[] {
  return sent.flat().filter((arg) => /NaN|Infinity|undefined/i.test(arg));
}

const BROKEN = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 43];

describe.skipIf('skip' in target)("Redis store, timeSource 'client': broken clock readings", () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-readings',
    ({ connection, prefix, key }) => {
      const options = { capacity: 1, initialTokens: 0, refillInterval: 1000, timeSource: 'client' as const };

      it.each(BROKEN)(
        'reading %s: takes, waitTime(), available() and reconfigure() reject with InvalidClockReadingError and send nothing',
        async (reading) => {
          const { clock, breakWith, mend } = breakableClock();
          const runner = recordingRunner(connection.client);
          const bucket = new RedisTokenBucketFilter({ ...options, client: runner, key: key(), prefix, clock });
          breakWith(reading);
          await expect(bucket.getToken()).rejects.toBeInstanceOf(InvalidClockReadingError);
          await expect(bucket.tryGetToken()).rejects.toBeInstanceOf(InvalidClockReadingError);
          await expect(bucket.waitTime()).rejects.toBeInstanceOf(InvalidClockReadingError);
          await expect(bucket.available()).rejects.toBeInstanceOf(InvalidClockReadingError);
          await expect(bucket.reconfigure({ capacity: 2 })).rejects.toBeInstanceOf(InvalidClockReadingError);
          expect(runner.sent).toEqual([]);
          mend();
          expect(await bucket.waitTime()).toBe(1000); // nothing was reserved or reconfigured
          expect(bucket.capacity).toBe(1);
          bucket.close();
        },
      );

      it.each(BROKEN)(
        'reading %s: takes batched behind one in flight send their own valid readings; later ones are refused',
        async (reading) => {
          const { clock, fake, breakWith, mend } = breakableClock();
          const runner = recordingRunner(connection.client);
          const bucket = new RedisTokenBucketFilter({
            ...options,
            capacity: 3,
            client: runner,
            key: key(),
            prefix,
            clock,
          });
          const calls = [0, 1, 2].map(() => track(bucket.getToken(), fake)); // one call, then a batch of two
          breakWith(reading); // before the batch is sent
          const refused = bucket.getToken();
          await expect(refused).rejects.toBeInstanceOf(InvalidClockReadingError);
          mend();
          await bucket.idle();
          await fake.tickAsync(3000);
          expect(calls.map((call) => call.state)).toEqual(['granted', 'granted', 'granted']);
          expect(runner.sent.length).toBeGreaterThan(0);
          expect(brokenArguments(runner.sent)).toEqual([]);
          bucket.close();
        },
      );

      it.each(BROKEN)(
        'reading %s: an abort on a broken reading sends nothing, and its tokens go back at the first call once the clock is mended',
        async (reading) => {
          // Regression: the withdraw was skipped ("the next abort tries again"), and with no next abort
          // the aborted caller's step was never given back.
          const { clock, fake, breakWith, mend } = breakableClock();
          const runner = recordingRunner(connection.client);
          const bucket = new RedisTokenBucketFilter({ ...options, client: runner, key: key(), prefix, clock });
          const controller = new AbortController();
          const aborted = track(bucket.getToken(1, { signal: controller.signal }), fake); // reserved: 1000
          await bucket.idle();
          const sentBefore = runner.sent.length;
          breakWith(reading);
          controller.abort();
          await bucket.idle();
          expect(aborted.state).toBe('rejected');
          expect(runner.sent.length).toBe(sentBefore);
          mend();
          expect(await bucket.tryGetToken()).toBe(false); // the next call: Redis answers, the give-back follows
          await bucket.idle();
          expect(await bucket.waitTime()).toBe(1000); // not 2000: the aborted reservation is back
          expect(brokenArguments(runner.sent)).toEqual([]);
          bucket.close();
        },
      );

      it.each(BROKEN)(
        'reading %s: close() on a broken reading still gives the waiters back, at the last valid reading',
        async (reading) => {
          // Regression: on an invalid reading close() sent nothing, and the closed waiters' steps passed unused.
          const { clock, fake, breakWith, mend } = breakableClock();
          const runner = recordingRunner(connection.client);
          const name = key();
          const bucket = new RedisTokenBucketFilter({ ...options, client: runner, key: name, prefix, clock });
          const waiting = [track(bucket.getToken(), fake), track(bucket.getToken(), fake)]; // 1000, 2000
          await bucket.idle();
          breakWith(reading);
          bucket.close();
          await bucket.idle();
          expect(waiting.map((call) => call.state)).toEqual(['rejected', 'rejected']);
          mend();
          const peer = new RedisTokenBucketFilter({ ...options, client: connection.client, key: name, prefix, clock });
          expect(await peer.waitTime()).toBe(1000); // not 3000: both reservations are back
          expect(brokenArguments(runner.sent)).toEqual([]);
          peer.close();
        },
      );
    },
  );
});
