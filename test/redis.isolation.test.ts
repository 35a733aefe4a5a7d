import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/index.js';
import {
  RedisKeyedTokenBucketFilter,
  RedisKeyError,
  RedisTimeoutError,
  RedisTokenBucketFilter,
  RedisUnavailableError,
  scriptRunner,
  type RedisScriptRunner,
} from '../src/redis/index.js';
import { clientKinds, connect, type ClientKind, type TestClient } from './redis/clients.js';
import { announceSkip, busyScript, freePort, launchRedis, redisTarget, type LaunchedRedis } from './redis/server.js';

// Isolation of keys (issue 11, "What to build" 2): one bad key (WRONGTYPE) or one dead node leaves every
// other key of a keyed store answered on its merits; a refusal's cause is its own key's failure; a
// retry loop that spins on refused calls does not stop another caller's redisTimeout from firing.
// Real servers only: the ones a test needs dead are a port nobody listens on, or a redis-server
// stalled by a busy script.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.isolation.test.ts', target.skip);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client of `kind` for a port nobody listens on, offline queue off: every command fails at once. */
function deadClient(kind: ClientKind, port: number): { runner: RedisScriptRunner; close(): void } {
  if (kind === 'node-redis') {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, disableOfflineQueue: true });
    client.on('error', () => undefined);
    return { runner: scriptRunner(client), close: () => undefined }; // never connected
  }
  const client = new Redis({ port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  return { runner: scriptRunner(client), close: () => client.disconnect() };
}

/**
 * A runner that sends the script calls of the keys `route` names to that node's runner and every other
 * to `live`, as a cluster client routes by slot; counts each key's calls.
 */
function routed(live: RedisScriptRunner, route: (key: string) => RedisScriptRunner | undefined) {
  const calls = new Map<string, number>();
  const pick = (keys: readonly string[]): RedisScriptRunner => {
    const key = keys[0] ?? '';
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return route(key) ?? live;
  };
  const runner: RedisScriptRunner = {
    evalsha: (sha, keys, args) => pick(keys).evalsha(sha, keys, args),
    eval: (script, keys, args) => pick(keys).eval(script, keys, args),
  };
  return { runner, calls };
}

describe.skipIf('skip' in target)('Redis key isolation', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });
  const url = (): string => ('skip' in target ? '' : target.url);
  let run = 0;
  const prefix = (): string => `tbf-iso:${process.pid}:${Date.now()}:${(run += 1)}:`;

  for (const kind of clientKinds) {
    describe(kind, () => {
      let connection: TestClient;
      beforeAll(async () => {
        connection = await connect(kind, url());
      });
      afterAll(async () => {
        await connection.close();
      });

      for (const failMode of ['closed', 'open'] as const) {
        it(`WRONGTYPE on one key of a keyed store (failMode '${failMode}'): that key rejects with RedisKeyError, every other key is answered on its merits`, async () => {
          const pre = prefix();
          const keyed = new RedisKeyedTokenBucketFilter({
            client: connection.client,
            prefix: pre,
            capacity: 3,
            refillInterval: 60_000,
            failMode,
            breakerCooldown: 60_000, // a breaker it tripped would refuse the key for the whole test
          });
          const badKey = `${pre}{bad}`;
          await connection.command('RPUSH', badKey, 'a user list');
          const grants: boolean[] = [];
          for (let round = 0; round < 5; round += 1) {
            const error = await keyed.getToken('bad').catch((caught: unknown) => caught);
            expect(error, `round ${round}`).toBeInstanceOf(RedisKeyError);
            // Redis answered every time: the key's breaker never opened (no refusal without Redis).
            expect(((error as RedisKeyError).cause as Error).message, `round ${round}`).toMatch(/WRONGTYPE/);
            grants.push(await keyed.tryGetToken('good'));
            await expect(keyed.tryGetToken('bad'), 'tryGetToken neither false nor granted').rejects.toBeInstanceOf(
              RedisKeyError,
            );
          }
          // The good key's own schedule: 3 tokens, then none for a minute.
          expect(grants).toEqual([true, true, true, false, false]);
          await expect(keyed.getToken('good', 1, { maxWait: 0 })).rejects.toMatchObject({
            name: 'MaxWaitExceededError',
          });
          await expect(keyed.waitTime('bad')).rejects.toBeInstanceOf(RedisKeyError);
          await expect(keyed.available('bad')).rejects.toBeInstanceOf(RedisKeyError);
          expect(await keyed.available('other')).toBe(3);
          const error = (await keyed.getToken('bad').catch((caught: unknown) => caught)) as RedisKeyError;
          expect(error.name).toBe('RedisKeyError');
          expect(error.key).toBe(badKey);
          expect(error.message).toContain(JSON.stringify(badKey));
          expect(error.message).toMatch(/WRONGTYPE Operation against a key holding the wrong kind of value/);
          expect(error).not.toBeInstanceOf(RedisUnavailableError);
          expect(await connection.command('LRANGE', badKey, '0', '-1')).toEqual(['a user list']);
          const stats = keyed.stats();
          expect(stats.tokensGranted).toBe(3); // failMode 'open' granted nothing to the bad key
          keyed.close();
        });
      }

      it('WRONGTYPE with a fallback bucket: the key rejects with RedisKeyError, the fallback is never asked', async () => {
        const fallback = new LazyTokenBucketFilter({ capacity: 2, refillInterval: 60_000 });
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          prefix: prefix(),
          key: 'bad',
          capacity: 3,
          fallback,
        });
        await connection.command('SADD', bucket.redisKey, 'a user set');
        await expect(bucket.getToken()).rejects.toBeInstanceOf(RedisKeyError);
        await expect(bucket.tryGetToken()).rejects.toBeInstanceOf(RedisKeyError);
        await expect(bucket.waitTime()).rejects.toBeInstanceOf(RedisKeyError);
        await expect(bucket.available()).rejects.toBeInstanceOf(RedisKeyError);
        expect(fallback.available).toBe(2);
        expect(bucket.pending).toBe(0);
        // Fixed by hand: the bucket works again at once (no breaker to wait out).
        await connection.command('DEL', bucket.redisKey);
        expect(await bucket.tryGetToken()).toBe(true);
        expect(fallback.available).toBe(2);
        bucket.close();
      });

      it('a string that is no bucket is an error of its key too, never overwritten', async () => {
        const pre = prefix();
        const keyed = new RedisKeyedTokenBucketFilter({ client: connection.client, prefix: pre, capacity: 3 });
        const badKey = `${pre}{text}`;
        await connection.command('SET', badKey, 'hello');
        const error = (await keyed.getToken('text').catch((caught: unknown) => caught)) as RedisKeyError;
        expect(error).toBeInstanceOf(RedisKeyError);
        expect(error.message).toContain('holds a string that is no bucket');
        expect(await keyed.tryGetToken('fine')).toBe(true);
        expect(await connection.command('GET', badKey)).toBe('hello');
        keyed.close();
      });
    });
  }

  describe('a dead node and a stalled node beside a live one', () => {
    let stalled: LaunchedRedis | undefined;
    const closers: (() => unknown)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0)) await close();
      await stalled?.stop();
      stalled = undefined;
    });

    for (const kind of ['ioredis', 'node-redis'] as const) {
      it(`${kind}: a breaker per key, each refusal carrying its own key's failure and a retryAfter; the live keys answered on their merits`, async () => {
        const live = await connect(kind, url());
        closers.push(() => live.close());
        stalled = await launchRedis();
        const slow = await connect(kind, stalled.url);
        closers.push(() => slow.close());
        const dead = deadClient(kind, await freePort());
        closers.push(() => dead.close());
        const pre = prefix();
        const { runner, calls } = routed(scriptRunner(live.client), (key) =>
          key === `${pre}{dead}` ? dead.runner : key === `${pre}{slow}` ? scriptRunner(slow.client) : undefined,
        );
        const cooldown = 5000;
        const keyed = new RedisKeyedTokenBucketFilter({
          client: runner,
          prefix: pre,
          capacity: 3,
          refillInterval: 60_000,
          redisTimeout: 300,
          breakerCooldown: cooldown,
        });
        const stall = slow.command('EVAL', busyScript(2500), '0').catch(() => undefined);
        await sleep(50);

        const deadError = (await keyed.getToken('dead').catch((caught: unknown) => caught)) as RedisUnavailableError;
        const slowError = (await keyed.getToken('slow').catch((caught: unknown) => caught)) as RedisUnavailableError;
        expect(deadError).toBeInstanceOf(RedisUnavailableError);
        expect(deadError.cause).not.toBeInstanceOf(RedisTimeoutError);
        expect(slowError.cause).toBeInstanceOf(RedisTimeoutError);
        // Just opened: the whole cooldown to wait (less what has passed since).
        for (const error of [deadError, slowError]) {
          expect(error.retryAfter).toBeGreaterThan(cooldown - 500);
          expect(error.retryAfter).toBeLessThanOrEqual(cooldown);
        }
        const sentBefore = new Map(calls);
        for (let round = 0; round < 4; round += 1) {
          const [refusedDead, refusedSlow, good] = await Promise.all([
            keyed.getToken('dead').catch((caught: unknown) => caught),
            keyed.tryGetToken('slow').then(
              (granted) => granted,
              (caught: unknown) => caught,
            ),
            keyed.tryGetToken('good'),
          ]);
          // Refused by their own breakers, each with its own key's failure, never the other's.
          expect((refusedDead as RedisUnavailableError).cause, `round ${round}`).toBe(deadError.cause);
          expect((refusedDead as RedisUnavailableError).retryAfter).toBeGreaterThan(0);
          expect((refusedDead as RedisUnavailableError).retryAfter).toBeLessThanOrEqual(cooldown);
          expect(refusedSlow, `round ${round}: failMode 'closed'`).toBe(false);
          expect(good, `round ${round}`).toBe(round < 3);
        }
        const slowRefusal = (await keyed.getToken('slow').catch((caught: unknown) => caught)) as RedisUnavailableError;
        expect(slowRefusal.cause).toBe(slowError.cause);
        // The open breakers refused without sending anything.
        expect(calls.get(`${pre}{dead}`)).toBe(sentBefore.get(`${pre}{dead}`));
        expect(calls.get(`${pre}{slow}`)).toBe(sentBefore.get(`${pre}{slow}`));
        expect(keyed['caller']['breakers'].size).toBe(2);
        await stall;
        keyed.close();
      }, 20_000);
    }

    it('redisTimeout holds while another caller spins on refused calls without waiting', async () => {
      stalled = await launchRedis();
      const slow = await connect('ioredis', stalled.url);
      closers.push(() => slow.close());
      const timeout = 300;
      const keyed = new RedisKeyedTokenBucketFilter({
        client: slow.client,
        prefix: prefix(),
        capacity: 3,
        redisTimeout: timeout,
        breakerCooldown: 10_000,
      });
      const stall = slow.command('EVAL', busyScript(3000), '0').catch(() => undefined);
      await sleep(50);
      await expect(keyed.getToken('spun')).rejects.toBeInstanceOf(RedisUnavailableError); // its breaker opens
      // A retry loop with no delay: without a macrotask between refusals it would starve every timer
      // for as long as it spins (here until 4 s have passed, by the clock it reads itself).
      let spins = 0;
      let retryAfter = 0;
      const stopAt = performance.now() + 4000;
      const spinning = (async () => {
        while (performance.now() < stopAt) {
          try {
            await keyed.getToken('spun');
          } catch (error) {
            retryAfter = (error as RedisUnavailableError).retryAfter;
            spins += 1;
          }
        }
      })();
      const calledAt = performance.now();
      const error = (await keyed.getToken('other').catch((caught: unknown) => caught)) as RedisUnavailableError;
      const elapsed = performance.now() - calledAt;
      await spinning;
      console.log(
        `a caller's redisTimeout (${timeout} ms) fired after ${Math.round(elapsed)} ms while another spun ${spins} refused calls`,
      );
      expect(error.cause).toBeInstanceOf(RedisTimeoutError);
      // The spinner takes a core: under a loaded full run (coverage, parallel files) the timer fired
      // after up to 942 ms; starved, it would fire only once the spinning stops, after 4 s.
      expect(elapsed).toBeLessThan(timeout + 1200);
      expect(spins).toBeGreaterThan(100);
      expect(retryAfter).toBeGreaterThan(5000);
      await stall;
      keyed.close();
    }, 20_000);
  });
});
