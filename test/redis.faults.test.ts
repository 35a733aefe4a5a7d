import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/index.js';
import { RedisTokenBucketFilter, RedisTimeoutError, RedisUnavailableError } from '../src/redis/index.js';
import { clientKinds, connect, type TestClient } from './redis/clients.js';
import {
  announceSkip,
  busyScript,
  freePort,
  launchRedis,
  redisServerInstalled,
  type LaunchedRedis,
} from './redis/server.js';
import { load, type Outcome } from './redis/load.js';

// Faults against a private redis-server per test, in real time: every promise must settle within
// redisTimeout plus a margin, with the documented outcome, without over-granting, and the bucket must
// recover by itself once Redis is back.
const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI === 'true') throw new Error('redis-server is not installed (CI=true: the fault tests must run)');
  announceSkip('test/redis.faults.test.ts', 'redis-server is not installed (the fault tests start and stop their own)');
}

const REDIS_TIMEOUT = 300;
const MAX_WAIT = 100;
/** Scheduling slack on a loaded 2-core machine. */
const MARGIN = 400;
const CAPACITY = 5;
const INTERVAL = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks every outcome settled in time with a documented result, and no window got more than the schedule. */
function checkOutcomes(outcomes: Outcome[], extraBursts = 0): void {
  expect(outcomes.length).toBeGreaterThan(100);
  for (const outcome of outcomes) {
    expect(outcome.result, String(outcome.error)).not.toBe('other');
    expect(outcome.settledAt - outcome.calledAt).toBeLessThanOrEqual(Math.max(REDIS_TIMEOUT, MAX_WAIT) + MARGIN);
  }
  const grants = outcomes.filter((o) => o.result === 'granted').map((o) => o.settledAt);
  grants.sort((a, b) => a - b);
  // Observed grant times are late by up to MARGIN; a window of w ms holds at most this many steps.
  for (const window of [50, 200, 1000]) {
    const allowed = CAPACITY * (1 + extraBursts) + Math.ceil((window + MARGIN) / INTERVAL);
    let worst = 0;
    for (let i = 0, j = 0; i < grants.length; i += 1) {
      while (j < grants.length && (grants[j] ?? 0) < (grants[i] ?? 0) + window) j += 1;
      worst = Math.max(worst, j - i);
    }
    expect(worst, `grants in ${window} ms`).toBeLessThanOrEqual(allowed);
  }
}

/** Asserts that calls made after `since` are granted again (the bucket recovered by itself). */
function checkRecovered(outcomes: Outcome[], since: number): void {
  const after = outcomes.filter((o) => o.calledAt >= since);
  expect(after.length).toBeGreaterThan(20);
  expect(after.filter((o) => o.result === 'unavailable')).toEqual([]);
  expect(after.some((o) => o.result === 'granted')).toBe(true);
}

describe.skipIf(!installed)('RedisTokenBucketFilter under faults', () => {
  let server: LaunchedRedis | undefined;
  const connections: TestClient[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) await connection.close();
    await server?.stop();
    server = undefined;
  });

  const options = { capacity: CAPACITY, refillInterval: INTERVAL, redisTimeout: REDIS_TIMEOUT, breakerCooldown: 100 };

  for (const kind of clientKinds) {
    describe(kind, () => {
      it('heals by itself after SCRIPT FLUSH mid-run (EVAL after NOSCRIPT, every time)', async () => {
        server = await launchRedis();
        const connection = await connect(kind, server.url);
        connections.push(connection);
        const admin = await connect(kind, server.url);
        connections.push(admin);
        const bucket = new RedisTokenBucketFilter({ ...options, client: connection.client, key: 'flush' });
        const running = load(bucket, MAX_WAIT);
        for (let i = 0; i < 5; i += 1) {
          await sleep(200);
          await admin.command('SCRIPT', 'FLUSH');
        }
        await sleep(200);
        const outcomes = await running.stop();
        checkOutcomes(outcomes);
        expect(outcomes.filter((o) => o.result === 'unavailable')).toEqual([]);
        bucket.close();
      });

      it('fails closed while Redis restarts (connection refused meanwhile), then recovers by itself', async () => {
        server = await launchRedis();
        const connection = await connect(kind, server.url);
        connections.push(connection);
        const bucket = new RedisTokenBucketFilter({ ...options, client: connection.client, key: 'restart' });
        const running = load(bucket, MAX_WAIT);
        await sleep(500);
        await server.stop();
        await sleep(800);
        await server.restart();
        const backAt = performance.now();
        await sleep(3000);
        const outcomes = await running.stop();
        // The restarted Redis lost the bucket (no persistence): it starts full again, one extra burst.
        checkOutcomes(outcomes, 1);
        const down = outcomes.filter((o) => o.result === 'unavailable');
        expect(down.length).toBeGreaterThan(0);
        for (const outcome of down) expect(outcome.error).toBeInstanceOf(RedisUnavailableError);
        expect(outcomes.filter((o) => o.kind === 'try' && o.result === 'refused').length).toBeGreaterThan(0);
        checkRecovered(outcomes, backAt + 2000);
        bucket.close();
      });

      it('times out on a Redis stalled for 2 s by a busy script, fails closed, then recovers by itself', async () => {
        server = await launchRedis();
        const connection = await connect(kind, server.url);
        connections.push(connection);
        const admin = await connect(kind, server.url);
        connections.push(admin);
        const bucket = new RedisTokenBucketFilter({ ...options, client: connection.client, key: 'stall' });
        const running = load(bucket, MAX_WAIT);
        await sleep(300);
        const stallStart = performance.now();
        const stall = admin.command('EVAL', busyScript(2000), '0');
        await stall;
        expect(performance.now() - stallStart).toBeGreaterThan(1900);
        const backAt = performance.now();
        await sleep(1500);
        const outcomes = await running.stop();
        checkOutcomes(outcomes);
        const timedOut = outcomes.filter((o) => o.result === 'unavailable');
        expect(timedOut.length).toBeGreaterThan(0);
        expect(timedOut.some((o) => (o.error as RedisUnavailableError).cause instanceof RedisTimeoutError)).toBe(true);
        checkRecovered(outcomes, backAt + 500);
        await bucket.idle();
        bucket.close();
      });
    });
  }

  it('a reservation whose reply came after redisTimeout is given back when it is still the last one', async () => {
    server = await launchRedis();
    const connection = await connect('ioredis', server.url);
    connections.push(connection);
    const admin = await connect('ioredis', server.url);
    connections.push(admin);
    const bucket = new RedisTokenBucketFilter({
      ...options,
      client: connection.client,
      key: 'late',
      capacity: 1,
      refillInterval: 60_000,
      breakerCooldown: 0,
    });
    expect(await bucket.tryGetToken()).toBe(true);
    const stall = admin.command('EVAL', busyScript(1000), '0');
    await sleep(50);
    const error = await bucket.getToken().catch((caught: unknown) => caught);
    expect((error as RedisUnavailableError).cause).toBeInstanceOf(RedisTimeoutError);
    await stall;
    await bucket.idle(); // the late reply arrived and its reservation was cancelled
    const wait = await bucket.waitTime();
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000); // not 120 s: nobody holds the timed-out caller's token
    bucket.close();
  });

  it('connection refused from the start: fails fast or within redisTimeout, per client settings; open and fallback modes answer', async () => {
    const port = await freePort();
    const fast = new Redis({ port, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    const queued = new Redis({ port, retryStrategy: () => 50 }); // ioredis defaults: an offline queue
    fast.on('error', () => undefined);
    queued.on('error', () => undefined);
    try {
      const closed = new RedisTokenBucketFilter({ ...options, client: fast, key: 'refused', breakerCooldown: 0 });
      const started = performance.now();
      const error = await closed.getToken().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect((error as RedisUnavailableError).cause).toBeInstanceOf(Error);
      expect(await closed.tryGetToken()).toBe(false);
      expect(performance.now() - started).toBeLessThan(REDIS_TIMEOUT);

      const slow = new RedisTokenBucketFilter({ ...options, client: queued, key: 'refused' });
      const slowStart = performance.now();
      const slowError = await slow.getToken().catch((caught: unknown) => caught);
      const slowElapsed = performance.now() - slowStart;
      expect((slowError as RedisUnavailableError).cause).toBeInstanceOf(RedisTimeoutError);
      expect(slowElapsed).toBeGreaterThanOrEqual(REDIS_TIMEOUT - 5);
      expect(slowElapsed).toBeLessThanOrEqual(REDIS_TIMEOUT + MARGIN);
      // The breaker now answers at once, without another timeout.
      const breakerStart = performance.now();
      await expect(slow.getToken()).rejects.toBeInstanceOf(RedisUnavailableError);
      expect(performance.now() - breakerStart).toBeLessThan(50);

      const open = new RedisTokenBucketFilter({ ...options, client: fast, key: 'refused', failMode: 'open' });
      await expect(open.getToken()).resolves.toBeUndefined();
      const fallback = new LazyTokenBucketFilter({ capacity: 2 });
      const local = new RedisTokenBucketFilter({ ...options, client: fast, key: 'refused', fallback });
      expect([await local.tryGetToken(), await local.tryGetToken(), await local.tryGetToken()]).toEqual([
        true,
        true,
        false,
      ]);
      fallback.close();

      // A server appears on that port: the same bucket works again, with no action from the user.
      server = await launchRedisOn(port);
      const deadline = performance.now() + 5000;
      let granted = false;
      while (!granted && performance.now() < deadline) {
        granted = await closed.tryGetToken();
        if (!granted) await sleep(50);
      }
      expect(granted).toBe(true);
    } finally {
      fast.disconnect();
      queued.disconnect();
    }
  });
});

/** Starts a private redis-server on a given port (a launched one, restarted onto that port). */
async function launchRedisOn(port: number): Promise<LaunchedRedis> {
  const { spawn } = await import('node:child_process');
  const { ping } = await import('./redis/server.js');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
    await sleep(20);
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid ?? -1, stop, restart: () => Promise.resolve() };
}
