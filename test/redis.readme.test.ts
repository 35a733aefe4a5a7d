import FakeTimers from '@sinonjs/fake-timers';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/index.js';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter, RedisUnavailableError } from '../src/redis/index.js';
import { announceSkip, redisTarget } from './redis/server.js';

// The Redis section of the README, example by example, as written there (imports aside: the README
// imports 'token-bucket-filter' and 'token-bucket-filter/redis'). The examples read REDIS_URL.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.readme.test.ts', target.skip);
else process.env.REDIS_URL = target.url;

describe.skipIf('skip' in target)('README: the Redis store', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('one bucket shared by every process (ioredis)', async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      enableOfflineQueue: false, // during an outage, fail at once instead of queueing calls to replay later
      lazyConnect: true,
    });
    await client.connect();

    // At most 10 calls per second, in bursts of up to 10, across every process using the key 'github-api'.
    const bucket = new RedisTokenBucketFilter({
      client,
      key: 'github-api',
      capacity: 10,
      refillTokens: 10,
      refillInterval: 1000,
    });

    await bucket.getToken(); // waits its turn (FIFO across processes); one Redis call
    const took = await bucket.tryGetToken(); // true if a token was there and nobody was waiting
    const ms = await bucket.waitTime(); // how long a getToken() made now would wait

    bucket.close();
    await client.quit();
    expect(took).toBe(true);
    expect(ms).toBe(0);
  });

  it('several limits, reconfigure() and stats() (node-redis)', async () => {
    const client = await createClient({
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      disableOfflineQueue: true,
    }).connect();
    // The README's key, under a prefix of this run so that reruns start from a missing key.
    const prefix = `readme:${process.pid}:${Date.now()}:`;

    // 10 per second and 10,000 per day, shared by every process using the key 'partner-api'.
    const api = new RedisTokenBucketFilter({
      client,
      prefix,
      key: 'partner-api',
      limits: [
        { capacity: 10, refillTokens: 10, refillInterval: 1000 },
        { capacity: 10_000, refillTokens: 10_000, refillInterval: 86_400_000 },
      ],
    });
    await api.getToken();

    // The partner asked every client to slow down: one call, and every process follows.
    await api.reconfigure({ limits: [{ capacity: 5, refillTokens: 5, refillInterval: 1000 }] });
    expect(api.capacity).toBe(5);
    expect(api.stats()).toMatchObject({ tokensGranted: 1, granted: 1, denied: 0 });
    // Another process, created with the old options, follows the stored limits while the key lives
    // (9 tokens were held, capped at 5; one more taken keeps the key from expiring as a full bucket).
    await api.getToken();
    const other = new RedisTokenBucketFilter({ client, prefix, key: 'partner-api', capacity: 10, refillTokens: 10 });
    expect(await other.available()).toBe(4);
    expect(other.capacity).toBe(5);

    other.close();
    api.close();
    await client.quit();
  });

  it('one bucket per user (node-redis)', async () => {
    const client = await createClient({
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      disableOfflineQueue: true, // during an outage, fail at once instead of queueing calls to replay later
    }).connect();

    // Each user: bursts of 5, then one call every 200 ms. Idle users' keys expire by themselves.
    const perUser = new RedisKeyedTokenBucketFilter({ client, prefix: 'api-user:', capacity: 5, refillInterval: 200 });

    async function handle(userId: string): Promise<number> {
      if (!(await perUser.tryGetToken(userId))) return 429; // Too Many Requests
      return 200;
    }
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push(await handle('user-42'));
    console.log(statuses); // [200, 200, 200, 200, 200, 429]

    perUser.close();
    await client.quit();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('a local fallback while Redis is unavailable', async () => {
    const client = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true }); // nothing listens there

    // Three processes share 10 per second; if Redis is unreachable, each allows itself a third.
    const fallback = new LazyTokenBucketFilter({ capacity: 3, refillTokens: 3, refillInterval: 1000 });
    const bucket = new RedisTokenBucketFilter({
      client,
      key: 'github-api',
      capacity: 10,
      refillTokens: 10,
      redisTimeout: 200,
      fallback,
    });

    await bucket.getToken(); // granted by the fallback
    console.log(fallback.available); // 2

    expect(fallback.available).toBe(2);
    bucket.close();
    fallback.close();
    client.disconnect();
  });

  it('a retry loop that waits retryAfter', async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await client.connect();
    const bucket = new RedisTokenBucketFilter({
      client,
      key: `readme-retry:${process.pid}:${Date.now()}`,
      capacity: 10,
    });

    async function getTokenWithRetries(attempts = 5): Promise<void> {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await bucket.getToken();
          return;
        } catch (error) {
          if (!(error instanceof RedisUnavailableError) || attempt === attempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.max(error.retryAfter, 50)));
        }
      }
    }
    await getTokenWithRetries();

    expect(await bucket.available()).toBe(9);
    bucket.close();
    await client.quit();

    // Against a Redis nobody answers: the first failure opens the breaker for the whole cooldown; each
    // later attempt is refused with what is left of it (a timer may fire a fraction of a ms before the
    // breaker's own clock says so: then 1), or finds it half-open, fails again, and opens it afresh.
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true });
    down.on('error', () => undefined);
    const refused = new RedisTokenBucketFilter({ client: down, key: 'retry', capacity: 10, breakerCooldown: 200 });
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const error = (await refused.getToken().catch((caught: unknown) => caught)) as RedisUnavailableError;
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.retryAfter).toBeGreaterThan(attempt === 1 ? 150 : 0);
      expect(error.retryAfter).toBeLessThanOrEqual(200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(error.retryAfter, 50)));
    }
    refused.close();
    down.disconnect();
  });

  it('testing with a fake clock', async () => {
    const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    await client.connect();

    const clock = FakeTimers.createClock();
    const bucket = new RedisTokenBucketFilter({
      client,
      key: 'test',
      capacity: 1,
      initialTokens: 0,
      timeSource: 'client', // the decisions use this clock, not Redis' TIME
      clock,
    });
    let granted = false;
    const call = bucket.getToken().then(() => (granted = true));
    await bucket.idle(); // the reservation's reply arrives (real I/O): granted at 1000 ms on the fake clock
    await clock.tickAsync(999);
    console.log(granted); // false
    await clock.tickAsync(1);
    await call;
    console.log(granted); // true

    bucket.close();
    await client.quit();
    expect(granted).toBe(true);
  });
});
