import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTokenBucketFilter } from '../src/redis/index.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { distDir } from './support/dist.js';

// A sleeper in another Node process (test/redis/pauseWorker.mjs, created with pausable: true) is not
// granted during a pause made here, in real time with Redis time. Needs the built package (dist/).
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.pause.multiprocess.test.ts', target.skip);
const WORKER = fileURLToPath(new URL('./redis/pauseWorker.mjs', import.meta.url));
const INTERVAL = 200; // ms per token
const PAUSE = 1000;
/** How far apart this process's clock and Redis' TIME (the same host's) may read, in ms. */
const SKEW = 20;

describe.skipIf('skip' in target)('RedisTokenBucketFilter.pause() and a sleeper in another process', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('grants the other process nothing during the pause, then one token per interval', async () => {
    if ('skip' in target) return;
    const entry = [`${distDir}/redis.js`, `${distDir}/redis/index.js`].find((path) => existsSync(path));
    if (entry === undefined) throw new Error(`${distDir}/redis.js is missing: build the package (npx tsup)`);
    const client = new Redis(target.url, { enableOfflineQueue: false, lazyConnect: true });
    await client.connect();
    const config = { entry, url: target.url, prefix: `tbf-pause-mp:${process.pid}:`, key: String(Date.now()) };
    const { prefix, key } = config;
    const bucket = new RedisTokenBucketFilter({ client, prefix, key, capacity: 1, refillInterval: INTERVAL });
    const child = spawn(
      process.execPath,
      [WORKER, JSON.stringify({ ...config, capacity: 1, refillInterval: INTERVAL, pausable: true, calls: 3 })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let pausedAt = 0;
    const paused = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        stdout += data.toString();
        if (pausedAt === 0 && stdout.startsWith('ready')) {
          pausedAt = performance.timeOrigin + performance.now();
          bucket.pause(PAUSE).then(resolve, reject);
        }
      });
    });
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await paused;
    expect(await exited, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0], 'every call of the worker reserved before the pause').toBe('ready 3');
    const { grants, errors } = JSON.parse(lines[1] ?? '{}') as { grants: number[]; errors: string[] };
    expect(errors).toEqual([]);
    expect(grants).toHaveLength(3);
    const first = grants[0] ?? 0;
    // Reserved for up to 200, 400 and 600 ms after the take (the worker emptied the bucket first), each
    // grant comes after the pause's end instead.
    expect(first, 'the first grant, ms after the pause call').toBeGreaterThanOrEqual(pausedAt + PAUSE - SKEW);
    // Then the steady rate on the bucket's unchanged schedule: one refill at the end (the first grant),
    // the next step (at most one interval later), then one token per interval, no burst.
    const [, second = 0, third = 0] = grants;
    expect(second - first).toBeLessThanOrEqual(INTERVAL + 100);
    expect(third - second, 'the third grant after the second').toBeGreaterThanOrEqual(INTERVAL - SKEW);
    bucket.close();
    await bucket.idle();
    client.disconnect();
  }, 30_000);
});
