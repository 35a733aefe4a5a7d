import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { distDir } from '../support/dist.js';
import type { Seed } from './cluster.js';

/**
 * The multi-process test (test/redis.multiprocess.test.ts on one server, test/redis.cluster.multiprocess.test.ts
 * on a cluster): four Node processes (test/redis/worker.mjs) share one bucket through a real Redis, in
 * real time, for three seconds. Needs the built package (dist/, or $TBF_DIST_DIR) with its redis entry.
 */
const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));
const CAPACITY = 3;
const INTERVAL = 50; // ms per token
const DURATION = 3000;
/** Most a grant is observed after its instant in Redis (reply delay, timer lateness, a loaded machine). */
const LATENESS = 100;

/** What one worker reports: its grants' instants (epoch ms), its errors, and its counts. */
export interface WorkerResult {
  grants: number[];
  errors: string[];
  issued: number;
  settled: number;
  pending: number;
  tries: number;
  triesGranted: number;
}

/** Where the workers connect: one server's URL, or a cluster's seeds. */
export type SharedTarget = { url: string } | { seeds: readonly Seed[] };

/** How one worker connects: a client library, and whether through its cluster client. */
export type WorkerClient = 'ioredis' | 'node-redis' | 'iovalkey';

/** Runs one worker (test/redis/worker.mjs) with `config`; resolves with its report. */
export function runWorker(config: Record<string, unknown>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as WorkerResult);
    });
  });
}

/**
 * Runs four workers on one key of `target`: a pair of `getToken()` loops through each of `clients`
 * (cycled), and a `tryGetToken()` loop in the third and fourth. Expects that no window of observed
 * grant times held more than the schedule allows, that every call settled once, and that about every
 * scheduled token was granted; logs the worst windows under `label`.
 */
export async function expectSharedSchedule(
  label: string,
  target: SharedTarget,
  clients: readonly [WorkerClient, WorkerClient],
): Promise<void> {
  // The redis entry as tsup.config.ts builds it (dist/redis.js), or as a one-off build may lay it out.
  const entry = [`${distDir}/redis.js`, `${distDir}/redis/index.js`].find((path) => existsSync(path));
  if (entry === undefined) {
    throw new Error(`${distDir}/redis.js is missing: build the package (npm run build) or set TBF_DIST_DIR`);
  }
  const startAt = Date.now() + 2000;
  const common = {
    entry,
    ...target,
    prefix: `tbf-multi:${process.pid}:`,
    key: String(Date.now()),
    capacity: CAPACITY,
    refillTokens: 1,
    refillInterval: INTERVAL,
    startAt,
    endAt: startAt + DURATION,
    tryPause: 5,
  };
  const [first, second] = clients;
  const results = await Promise.all([
    runWorker({ ...common, client: first, getLoops: 3, tryLoops: 0 }),
    runWorker({ ...common, client: second, getLoops: 3, tryLoops: 0 }),
    runWorker({ ...common, client: first, getLoops: 2, tryLoops: 1 }),
    runWorker({ ...common, client: second, getLoops: 2, tryLoops: 1 }),
  ]);

  for (const result of results) {
    expect(result.errors).toEqual([]);
    expect(result.settled).toBe(result.issued); // every call settled once: none lost
    expect(result.pending).toBe(0);
  }
  expect(results[2].tries).toBeGreaterThan(0);
  expect(results[3].tries).toBeGreaterThan(0);
  const grants = results.flatMap((result) => result.grants).sort((a, b) => a - b);
  const firstGrant = grants[0] ?? 0;
  const lastGrant = grants.at(-1) ?? 0;
  // The schedule: CAPACITY tokens at first use, then one per INTERVAL. A window of observed grant times
  // of length w covers instants in Redis within w + LATENESS, which hold at most this many steps.
  const allowed = (w: number): number => CAPACITY + Math.ceil((w + LATENESS) / INTERVAL);
  const worst: Array<{ window: number; count: number; allowed: number }> = [];
  for (const window of [10, 20, 50, 100, 200, 500, 1000, 2000, lastGrant - firstGrant + 1]) {
    let count = 0;
    for (let i = 0, j = 0; i < grants.length; i += 1) {
      while (j < grants.length && (grants[j] ?? 0) < (grants[i] ?? 0) + window) j += 1;
      count = Math.max(count, j - i);
    }
    worst.push({ window, count, allowed: allowed(window) });
  }
  for (const row of worst) expect(row.count, `grants in ${row.window} ms`).toBeLessThanOrEqual(row.allowed);
  // Nothing lost: the callers kept the bucket busy, so about every scheduled token was granted.
  const scheduled = CAPACITY + Math.floor(DURATION / INTERVAL);
  const inRun = grants.filter((t) => t >= startAt && t <= startAt + DURATION + LATENESS).length;
  expect(inRun).toBeGreaterThanOrEqual(scheduled - 3);
  console.log(
    `${label}: ${grants.length} grants (${inRun} in the run, schedule ${scheduled}); tries granted ${results.map((r) => `${r.triesGranted}/${r.tries}`).join(', ')}; worst windows ${worst.map((r) => `${r.window}ms:${r.count}/${r.allowed}`).join(' ')}`,
  );
}
