import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { RedisTokenBucketFilter, type RedisClientLike } from '../../src/redis/index.js';
import { distDir } from '../support/dist.js';
import type { ClientKind } from './clients.js';
import type { SharedTarget } from './multiprocess.js';

/**
 * The pause tests across processes (test/redis.pause.multiprocess.test.ts on one server,
 * test/redis.cluster.pause.multiprocess.test.ts on a cluster): a worker (test/redis/pauseWorker.mjs)
 * sleeps on reservations of a key never paused, and this process pauses the key once they are made.
 * In real time, with Redis time. Needs the built package (dist/).
 */
const WORKER = fileURLToPath(new URL('./pauseWorker.mjs', import.meta.url));
export const INTERVAL = 200; // ms per token
export const PAUSE = 1000;
/** How far apart this process's clock and Redis' TIME (the same host's) may read, in ms. */
export const SKEW = 20;
/** How late a timer may wake a grant on a loaded machine (a cluster's six servers and two Node processes on 2 cores). */
export const LATENESS = 50;

/** The built redis entry; throws when the package is not built. */
export function redisEntry(): string {
  const entry = [`${distDir}/redis.js`, `${distDir}/redis/index.js`].find((path) => existsSync(path));
  if (entry === undefined) throw new Error(`${distDir}/redis.js is missing: build the package (npx tsup)`);
  return entry;
}

/** What {@link pauseAcross} saw: when this process sent the pause (epoch ms) and the worker's report. */
export interface PausedWorker {
  readonly pausedAt: number;
  readonly lines: string[];
  readonly grants: number[];
  readonly errors: string[];
}

/**
 * Runs a worker with `worker` options (its client `kind`, `calls` sleepers on a key of capacity 1
 * emptied first) on `target`, and pauses the key for {@link PAUSE} ms through `client` once the
 * worker says its calls are reserved (and its subscription confirmed). Resolves once the worker exited.
 */
export async function pauseAcross(
  target: SharedTarget,
  kind: ClientKind,
  client: RedisClientLike,
  worker: Record<string, unknown>,
): Promise<PausedWorker> {
  const config = {
    entry: redisEntry(),
    ...target,
    client: kind,
    prefix: `tbf-pause-mp:${process.pid}:${kind}:`,
    key: `${Date.now()}:${Math.random()}`,
  };
  const { prefix, key } = config;
  const bucket = new RedisTokenBucketFilter({ client, prefix, key, capacity: 1, refillInterval: INTERVAL });
  const child = spawn(
    process.execPath,
    [WORKER, JSON.stringify({ ...config, capacity: 1, refillInterval: INTERVAL, calls: 3, ...worker })],
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
  bucket.close();
  await bucket.idle();
  const lines = stdout.trim().split('\n');
  const { grants = [], errors = [] } = JSON.parse(lines[1] ?? '{}') as { grants?: number[]; errors?: string[] };
  return { pausedAt, lines, grants, errors };
}

/**
 * Expects that the worker of `run` reserved all 3 calls before the pause and was granted nothing
 * during it: each grant after the pause's end, then one token per interval.
 */
export function expectNothingDuringPause(run: PausedWorker): void {
  const { pausedAt, lines, grants, errors } = run;
  expect(lines[0], 'every call of the worker reserved before the pause').toBe('ready 3');
  expect(errors).toEqual([]);
  expect(grants).toHaveLength(3);
  const [first = 0, second = 0, third = 0] = grants;
  // Reserved for up to 200, 400 and 600 ms after the take (the worker emptied the bucket first), each
  // grant comes after the pause's end instead.
  expect(first - pausedAt, 'the first grant, ms after the pause call').toBeGreaterThanOrEqual(PAUSE - SKEW);
  // Then the steady rate on the bucket's unchanged schedule: no burst (the second grant's step is one
  // interval before the third's, and its timer may have woken it late).
  expect(second - first).toBeLessThanOrEqual(INTERVAL + 100);
  expect(third - second, 'the third grant after the second').toBeGreaterThanOrEqual(INTERVAL - LATENESS);
}
