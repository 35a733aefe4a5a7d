import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/index.js';
import {
  BUCKET_SCRIPT,
  BUCKET_SCRIPT_SHA,
  RedisKeyedTokenBucketFilter,
  RedisTokenBucketFilter,
  scriptRunner,
  type RedisScriptRunner,
} from '../src/redis/index.js';

/** A runner that records calls; every test here expects it never to be called. */
function recordingRunner(): RedisScriptRunner & { calls: number } {
  const runner = {
    calls: 0,
    evalsha: () => {
      runner.calls += 1;
      return Promise.reject(new Error('no Redis in this test'));
    },
    eval: () => {
      runner.calls += 1;
      return Promise.reject(new Error('no Redis in this test'));
    },
  };
  return runner;
}

describe('Redis store: bad input is refused before any Redis call', () => {
  const base = { capacity: 3, key: 'k' };

  it.each([
    [{ ...base, client: undefined }, TypeError, /client is required/],
    [{ ...base, client: {} }, TypeError, /client must be an ioredis or node-redis client/],
    [{ ...base, key: 5 }, TypeError, /key must be a non-empty string, received 5/],
    [{ ...base, key: '' }, TypeError, /key must be a non-empty string, received ""/],
    [{ ...base, key: undefined }, TypeError, /key must be a non-empty string, received undefined/],
    [{ ...base, capacity: 0 }, RangeError, /capacity must be a positive safe integer, received 0/],
    [
      { ...base, refillInterval: 0.0001 },
      RangeError,
      /refillInterval must be a number of ms from 0.001 \(1 µs\).*received 0\.0001/,
    ],
    [{ ...base, redisTimeout: 0 }, RangeError, /redisTimeout .* received 0/],
    [{ ...base, redisTimeout: Number.POSITIVE_INFINITY }, RangeError, /redisTimeout .* received Infinity/],
    [{ ...base, redisTimeout: '5' }, RangeError, /redisTimeout .* received "5"/],
    [{ ...base, breakerCooldown: -1 }, RangeError, /breakerCooldown .* received -1/],
    [{ ...base, failMode: 'sometimes' }, TypeError, /failMode must be 'closed' or 'open', received "sometimes"/],
    [{ ...base, pausable: 'yes' }, TypeError, /pausable must be a boolean, received "yes"/],
    [{ ...base, pausable: 1 }, TypeError, /pausable must be a boolean, received 1/],
    [{ ...base, timeSource: 'app' }, TypeError, /timeSource must be 'redis' or 'client', received "app"/],
    [{ ...base, prefix: 7 }, TypeError, /prefix must be a string, received 7/],
    [{ ...base, fallback: {} }, TypeError, /fallback must be a TokenBucketFilter/],
    [{ ...base, kind: 'lazy' }, TypeError, /Unknown option "kind"/],
    [{ ...base, redisTimout: 5 }, TypeError, /Unknown option "redisTimout"/],
  ])('new RedisTokenBucketFilter(%o) throws', (options, type, message) => {
    const runner = recordingRunner();
    const withClient = 'client' in options ? options : { ...options, client: runner };
    expect(() => new RedisTokenBucketFilter(withClient as never)).toThrow(type);
    expect(() => new RedisTokenBucketFilter(withClient as never)).toThrow(message);
    expect(runner.calls).toBe(0);
  });

  it('rejects bad counts, maxWait, options and signals without calling Redis', async () => {
    const runner = recordingRunner();
    const bucket = new RedisTokenBucketFilter({ client: runner, key: 'k', capacity: 3 });
    for (const count of [0, -1, 1.5, Number.NaN, 4, '1', null]) {
      await expect(bucket.getToken(count as number)).rejects.toThrow(RangeError);
      await expect(bucket.tryGetToken(count as number)).rejects.toThrow(RangeError);
      await expect(bucket.waitTime(count as number)).rejects.toThrow(RangeError);
    }
    await expect(bucket.getToken(4)).rejects.toThrow(/capacity \(3\), received 4/);
    await expect(bucket.getToken(1, { maxWait: -1 })).rejects.toThrow(RangeError);
    await expect(bucket.getToken(1, 5 as never)).rejects.toThrow(TypeError);
    await expect(bucket.getToken(1, { signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
    const reason = new Error('already');
    await expect(bucket.getToken(1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(runner.calls).toBe(0);
    bucket.close();
    await expect(bucket.getToken()).rejects.toThrow('closed');
    await expect(bucket.tryGetToken()).rejects.toThrow('closed');
    await expect(bucket.available()).resolves.toBe(0);
    expect(runner.calls).toBe(0);
  });

  it('the keyed store rejects keys that are not non-empty strings, and bad counts, without calling Redis', async () => {
    const runner = recordingRunner();
    const keyed = new RedisKeyedTokenBucketFilter({ client: runner, capacity: 2 });
    for (const key of [undefined, null, 5, {}, '']) {
      await expect(keyed.getToken(key as string)).rejects.toThrow(/key must be a non-empty string/);
      await expect(keyed.tryGetToken(key as string)).rejects.toThrow(TypeError);
      await expect(keyed.waitTime(key as string)).rejects.toThrow(TypeError);
      await expect(keyed.available(key as string)).rejects.toThrow(TypeError);
    }
    await expect(keyed.getToken('user', 3)).rejects.toThrow(RangeError);
    await expect(keyed.tryGetToken('user', 0)).rejects.toThrow(RangeError);
    expect(runner.calls).toBe(0);
    expect(keyed.pending).toBe(0);
    expect(() => new RedisKeyedTokenBucketFilter({ client: runner, capacity: 2, key: 'x' } as never)).toThrow(
      /Unknown option "key"/,
    );
    expect(() => new RedisKeyedTokenBucketFilter({ client: runner, capacity: 2, initialTokens: 0 })).toThrow(
      /initialTokens must equal capacity \(2\) for the keyed Redis store.*received 0/,
    );
  });

  it('fails closed by default, open on request, or answers from the fallback', async () => {
    const runner = recordingRunner();
    const options = { client: runner, key: 'k', capacity: 3, breakerCooldown: 0 };
    const closed = new RedisTokenBucketFilter(options);
    const failure = await closed.getToken().catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'RedisUnavailableError', cause: { message: 'no Redis in this test' } });
    await expect(closed.tryGetToken()).resolves.toBe(false);
    await expect(closed.waitTime()).rejects.toThrow(/Redis is unavailable: no Redis in this test/);
    await expect(closed.available()).rejects.toThrow(/Redis is unavailable/);
    const open = new RedisTokenBucketFilter({ ...options, failMode: 'open' });
    await expect(open.getToken()).resolves.toBeUndefined();
    await expect(open.tryGetToken()).resolves.toBe(true);
    const fallback = new LazyTokenBucketFilter({ capacity: 1 });
    const withFallback = new RedisTokenBucketFilter({ ...options, fallback });
    await expect(withFallback.tryGetToken()).resolves.toBe(true);
    await expect(withFallback.tryGetToken()).resolves.toBe(false);
    await expect(withFallback.getToken(1, { maxWait: 10 })).rejects.toThrow('maxWait');
    await expect(withFallback.available()).resolves.toBe(0);
    fallback.close();
  });

  it('the breaker stops calling Redis for breakerCooldown ms after a failure', async () => {
    const runner = recordingRunner();
    const bucket = new RedisTokenBucketFilter({ client: runner, key: 'k', capacity: 3, breakerCooldown: 60_000 });
    await expect(bucket.getToken()).rejects.toThrow('no Redis in this test');
    expect(runner.calls).toBe(1);
    await expect(bucket.getToken()).rejects.toMatchObject({ name: 'RedisUnavailableError' });
    await expect(bucket.tryGetToken()).resolves.toBe(false);
    expect(runner.calls).toBe(1);
  });
});

describe('Redis store: client adapters', () => {
  it('recognises ioredis and node-redis by their shape, and takes a runner of your own as it is', () => {
    const ioredis = new Redis({ lazyConnect: true });
    const nodeRedis = createClient();
    const ioRunner = scriptRunner(ioredis);
    const nodeRunner = scriptRunner(nodeRedis);
    expect(ioRunner).not.toBe(ioredis);
    expect(nodeRunner).not.toBe(nodeRedis);
    const own = recordingRunner();
    expect(scriptRunner(own)).toBe(own);
    expect(() => scriptRunner({ evalsha: 1 } as never)).toThrow(/received an object/);
    ioredis.disconnect();
  });

  it('BUCKET_SCRIPT_SHA is the SHA1 of BUCKET_SCRIPT', () => {
    expect(BUCKET_SCRIPT_SHA).toBe(createHash('sha1').update(BUCKET_SCRIPT).digest('hex'));
  });
});
