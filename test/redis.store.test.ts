import { afterAll, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
import { describeEachClient } from './redis/clients.js';
import { countingRunner } from './redis/counting.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { storedState } from './redis/storedState.js';

// Real Redis, real time (Redis TIME): bounds are generous, and timing claims live in bench/.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.store.test.ts', target.skip);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf('skip' in target)('RedisTokenBucketFilter with Redis time', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-store',
    ({ connection, prefix, key }) => {
      it.each([
        ["0.1.0's hash (origin in µs, tokens and step, no configuration)", ['o', '1000', 't', '0', 's', '0']],
        ['the hash that stored the configuration', ['c', '0|3:1:1000', 'o', '1000', 'g', '7', 't1', '0', 's1', '0']],
      ])('reads a key of an earlier format, %s, as missing (a full bucket), and rewrites it', async (_, fields) => {
        const bucket = new RedisTokenBucketFilter({ client: connection.client, key: key(), prefix, capacity: 3 });
        // An empty bucket in the old layout: read as missing, it is a full one.
        await connection.command('HSET', bucket.redisKey, ...fields);
        await connection.command('PEXPIRE', bucket.redisKey, '60000');
        expect(await bucket.tryGetToken(3)).toBe(true);
        expect(await connection.command('TYPE', bucket.redisKey)).toBe('string');
        expect((await storedState(connection, bucket.redisKey))?.limits).toEqual([
          { capacity: 3, refillTokens: 1, refillInterval: 1000, tokens: 0, step: 0 },
        ]);
        bucket.close();
      });

      it('a key of another type is an error of that key (WRONGTYPE), never overwritten', async () => {
        const bucket = new RedisTokenBucketFilter({ client: connection.client, key: key(), prefix, capacity: 3 });
        await connection.command('RPUSH', bucket.redisKey, 'not a bucket');
        // Not an outage (issue 11): the key's own error, which tryGetToken() rejects with too.
        await expect(bucket.waitTime()).rejects.toThrow(expect.objectContaining({ name: 'RedisKeyError' }));
        await expect(bucket.tryGetToken()).rejects.toThrow(/WRONGTYPE/);
        expect(await connection.command('LRANGE', bucket.redisKey, '0', '-1')).toEqual(['not a bucket']);
        bucket.close();
      });

      it("a user's own hash under the key is an error of that key, never read as an earlier bucket", async () => {
        const bucket = new RedisTokenBucketFilter({ client: connection.client, key: key(), prefix, capacity: 3 });
        await connection.command('HSET', bucket.redisKey, 'name', 'Ada', 'o', 'not a bucket');
        await expect(bucket.tryGetToken()).rejects.toThrow(expect.objectContaining({ name: 'RedisKeyError' }));
        expect(await connection.command('HGET', bucket.redisKey, 'name')).toBe('Ada');
        expect(await connection.command('HGET', bucket.redisKey, 'o')).toBe('not a bucket');
        bucket.close();
      });

      it('keeps its state under a hash-tagged key and serves the burst, then the schedule', async () => {
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 2,
          refillInterval: 100,
        });
        expect(bucket.redisKey).toMatch(new RegExp(`^${prefix}\\{bucket-\\d+\\}$`));
        expect(await bucket.tryGetToken()).toBe(true);
        expect(await bucket.tryGetToken()).toBe(true);
        expect(await bucket.tryGetToken()).toBe(false);
        expect(await bucket.available()).toBe(0);
        const wait = await bucket.waitTime();
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(100);
        const started = performance.now();
        await bucket.getToken();
        expect(performance.now() - started).toBeGreaterThanOrEqual(wait - 5);
        // The configuration and the state are one string at the key: origin (a whole ms with Redis
        // time), generation, each limit and its tokens and step (whole numbers), then the configuration
        // as stored (stamp 0: construction options).
        expect(await connection.command('TYPE', bucket.redisKey)).toBe('string');
        const state = await storedState(connection, bucket.redisKey);
        expect(state?.config).toBe('0|2:1:100');
        expect(Number.isInteger(state?.origin)).toBe(true);
        expect(state?.gen).toBe(3); // two grants now, one reservation
        expect(state?.limits.map((limit) => ({ ...limit, tokens: 0, step: 0 }))).toEqual([
          { capacity: 2, refillTokens: 1, refillInterval: 100, tokens: 0, step: 0 },
        ]);
        expect(state?.limits.every((limit) => Number.isInteger(limit.tokens) && Number.isInteger(limit.step))).toBe(
          true,
        );
        bucket.close();
      });

      it('a bucket created empty starts its schedule at its first use, even when only tryGetToken is called', async () => {
        // Regression: a refused tryGetToken wrote nothing, so the next call found no key, took it for a
        // fresh empty bucket again, and the bucket never filled.
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 1,
          initialTokens: 0,
          refillInterval: 50,
        });
        const started = performance.now();
        let took = false;
        while (!took && performance.now() - started < 2000) {
          took = await bucket.tryGetToken();
          if (!took) await sleep(5);
        }
        expect(took).toBe(true);
        expect(performance.now() - started).toBeGreaterThanOrEqual(40);
        // Regression: the key expired once full, and the next call took the missing key for a new bucket
        // holding initialTokens (0) again. A key that expired is a full bucket.
        await sleep(150);
        expect(Number(await connection.command('EXISTS', bucket.redisKey))).toBe(0);
        expect(await bucket.tryGetToken()).toBe(true);
        bucket.close();
      });

      it("timeSource 'client' without a clock reads epoch time and sleeps on real timers", async () => {
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 1,
          refillInterval: 100,
          timeSource: 'client',
        });
        expect(await bucket.tryGetToken()).toBe(true);
        const started = performance.now();
        await bucket.getToken();
        const waited = performance.now() - started;
        expect(waited).toBeGreaterThanOrEqual(90);
        expect(waited).toBeLessThan(1000);
        bucket.close();
      });

      it('makes one Redis call per getToken, waiting or not, and grants in order on schedule', async () => {
        const runner = countingRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({
          client: runner,
          key: key(),
          prefix,
          capacity: 1,
          refillInterval: 10,
        });
        const order: number[] = [];
        const started = performance.now();
        await Promise.all(Array.from({ length: 20 }, (_, i) => bucket.getToken().then(() => order.push(i))));
        const elapsed = performance.now() - started;
        expect(order).toEqual([...Array(20).keys()]);
        expect(elapsed).toBeGreaterThanOrEqual(19 * 10 - 10);
        expect(runner.evalshaCalls + runner.evalCalls).toBeLessThanOrEqual(21); // + at most one EVAL after NOSCRIPT
        expect(runner.evalCalls).toBeLessThanOrEqual(1);
        bucket.close();
      });

      it('sends EVAL after NOSCRIPT, then EVALSHA again', async () => {
        const runner = countingRunner(connection.client);
        const bucket = new RedisTokenBucketFilter({ client: runner, key: key(), prefix, capacity: 5 });
        await connection.command('SCRIPT', 'FLUSH');
        expect(await bucket.tryGetToken()).toBe(true);
        expect([runner.evalshaCalls, runner.evalCalls]).toEqual([1, 1]);
        expect(await bucket.tryGetToken()).toBe(true);
        expect([runner.evalshaCalls, runner.evalCalls]).toEqual([2, 1]);
        bucket.close();
      });

      it('sets the key to expire when the bucket would be full again, and a missing key is a full bucket', async () => {
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 5,
          refillInterval: 40,
        });
        expect(await bucket.tryGetToken()).toBe(true);
        const ttlAfterOne = Number(await connection.command('PTTL', bucket.redisKey));
        expect(ttlAfterOne).toBeGreaterThan(0);
        expect(ttlAfterOne).toBeLessThanOrEqual(41);
        expect(await bucket.tryGetToken(4)).toBe(true);
        const ttlEmpty = Number(await connection.command('PTTL', bucket.redisKey));
        expect(ttlEmpty).toBeGreaterThan(120);
        expect(ttlEmpty).toBeLessThanOrEqual(201);
        await sleep(ttlEmpty + 50);
        expect(Number(await connection.command('EXISTS', bucket.redisKey))).toBe(0);
        expect(await bucket.available()).toBe(5);
        bucket.close();
      });

      it('an aborted reservation that is the last one gives its tokens back', async () => {
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: key(),
          prefix,
          capacity: 1,
          refillInterval: 60_000,
        });
        expect(await bucket.tryGetToken()).toBe(true);
        const controller = new AbortController();
        const waiting = bucket.getToken(1, { signal: controller.signal });
        const before = await bucket.waitTime();
        expect(before).toBeGreaterThan(60_000);
        controller.abort();
        await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
        await bucket.idle();
        expect(await bucket.waitTime()).toBeLessThanOrEqual(60_000);
        expect(bucket.pending).toBe(0);
        bucket.close();
      });

      it('close() rejects this instance waiters and gives back their reservations, last first', async () => {
        const name = key();
        const bucket = new RedisTokenBucketFilter({
          client: connection.client,
          key: name,
          prefix,
          capacity: 2,
          refillInterval: 60_000,
        });
        expect(await bucket.tryGetToken(2)).toBe(true);
        const waiting = [bucket.getToken(), bucket.getToken(2)];
        // The second take travels in the call after the first one's (batched): both have reserved once
        // this instance is idle.
        await bucket.idle();
        const other = new RedisTokenBucketFilter({
          client: connection.client,
          key: name,
          prefix,
          capacity: 2,
          refillInterval: 60_000,
        });
        expect(await other.waitTime()).toBeGreaterThan(120_000);
        bucket.close();
        await Promise.all(waiting.map((promise) => expect(promise).rejects.toThrow('closed')));
        await bucket.idle();
        expect(await other.waitTime()).toBeLessThanOrEqual(60_000);
        other.close();
      });

      it('keyed: one independent bucket per key, each expiring by itself', async () => {
        const keyedPrefix = `${prefix}keyed:`;
        const limiter = new RedisKeyedTokenBucketFilter({
          client: connection.client,
          prefix: keyedPrefix,
          capacity: 2,
          refillInterval: 30,
        });
        expect(await limiter.tryGetToken('alice', 2)).toBe(true);
        expect(await limiter.tryGetToken('alice')).toBe(false);
        expect(await limiter.tryGetToken('bob', 2)).toBe(true);
        expect(await limiter.available('carol')).toBe(2);
        const waits = [limiter.getToken('alice'), limiter.getToken('bob')];
        expect(limiter.pending).toBe(2);
        await Promise.all(waits);
        expect(limiter.pending).toBe(0);
        const keys = (await connection.command('KEYS', `${keyedPrefix}*`)) as string[];
        expect(keys.sort()).toEqual([`${keyedPrefix}{alice}`, `${keyedPrefix}{bob}`]);
        await sleep(150);
        expect(await connection.command('KEYS', `${keyedPrefix}*`)).toEqual([]);
        limiter.close();
        await expect(limiter.getToken('alice')).rejects.toThrow('closed');
      });
    },
  );
});
