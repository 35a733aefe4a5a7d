import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SharedTokenBucketFilter as SharedTokenBucketFilterClass } from '../src/shared/SharedTokenBucketFilter.js';
import { defined } from './support/defined.js';
import { distDir } from './support/dist.js';

// Real threads need built JavaScript: the `shared` entry of dist/ (or of $TBF_DIST_DIR).
const sharedEsm = `${distDir}/shared.js`;
const sharedUrl = pathToFileURL(sharedEsm).href;
const hammerScript = fileURLToPath(new URL('./shared/hammer.mjs', import.meta.url));
const waiterScript = fileURLToPath(new URL('./shared/waiter.mjs', import.meta.url));
const brokenClockScript = fileURLToPath(new URL('./shared/brokenClock.mjs', import.meta.url));
const replanScript = fileURLToPath(new URL('./shared/replan.mjs', import.meta.url));
const pauseScript = fileURLToPath(new URL('./shared/pause.mjs', import.meta.url));

/** How many times the 2-second hammer runs; raise it (SHARED_HAMMER_RUNS=20) to hunt for races. */
const RUNS = Number(process.env.SHARED_HAMMER_RUNS ?? 3);
const THREADS = 4;
const DURATION_MS = 2000;
const CAPACITY = 10;
const REFILL_INTERVAL = 10; // 1 token every 10 ms: 100 tokens per second

interface Report {
  /** Each grant: the bucket decided it at some instant between `called` and `granted` (ms). */
  grants: Array<[called: number, granted: number, tokens: number, kind: string]>;
  started: number;
  granted: number;
  rejected: number;
  outcomes: Record<'get' | 'abort' | 'maxWait', { granted: number; rejected: number }>;
  errors: string[];
  pendingAtEnd: number;
}

/** Starts a worker and resolves with its first `count` messages, rejecting on error, exit or timeout. */
function runWorker<T>(
  script: string,
  workerData: unknown,
  count: number,
  timeoutMs: number,
  onMessage?: (message: T, worker: Worker) => void,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData });
    const messages: T[] = [];
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`worker ${script} did not report within ${timeoutMs} ms: a waiter was lost`));
    }, timeoutMs);
    worker.on('message', (message: T) => {
      messages.push(message);
      onMessage?.(message, worker);
      if (messages.length === count) {
        clearTimeout(timer);
        resolve(messages);
      }
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      if (messages.length < count) reject(new Error(`worker ${script} exited with ${code} before reporting`));
    });
  });
}

describe('SharedTokenBucketFilter across worker threads', () => {
  let Shared: typeof SharedTokenBucketFilterClass;
  beforeAll(async () => {
    if (!existsSync(sharedEsm)) {
      throw new Error(
        `${sharedEsm} is missing: build the package (npm run build), or set TBF_DIST_DIR to a build with the shared entry`,
      );
    }
    ({ SharedTokenBucketFilter: Shared } = (await import(sharedUrl)) as {
      SharedTokenBucketFilter: typeof SharedTokenBucketFilterClass;
    });
  });

  it.each(Array.from({ length: RUNS }, (_, run) => run + 1))(
    `${THREADS} threads hammering one bucket (capacity ${CAPACITY}, 100 tokens/s) for ${DURATION_MS} ms never exceed the schedule (run %i)`,
    async (run) => {
      const bucket = new Shared({ capacity: CAPACITY, refillTokens: 1, refillInterval: REFILL_INTERVAL });
      // The schedule's origin as the bucket recorded it (bytes 128..135 of its buffer; see the layout).
      const origin = defined(new Float64Array(bucket.handle.buffer)[16]);
      const reports = await Promise.all(
        Array.from({ length: THREADS }, (_, thread) =>
          runWorker<Report>(
            hammerScript,
            { handle: bucket.handle, sharedUrl, durationMs: DURATION_MS, seed: run * 100 + thread + 1 },
            1,
            DURATION_MS + 15_000,
          ),
        ),
      );
      const all = reports.map(([report]) => defined(report, 'a report'));

      // Every call settled exactly once, as expected (grants, aborts, maxWait refusals), none lost.
      for (const report of all) {
        expect(report.errors).toEqual([]);
        expect(report.pendingAtEnd).toBe(0);
        expect(report.granted + report.rejected).toBe(report.started);
      }
      expect(bucket.pending).toBe(0);

      const grants = all.flatMap((report) => report.grants).sort((a, b) => a[0] - b[0]);
      const stepsAt = (at: number) => Math.max(0, Math.floor((at - origin) / REFILL_INTERVAL));

      // At every instant, no more than the schedule allows since creation: a full bucket plus one
      // token per step. A grant is observed after it was decided, so this bound is exact.
      const byGrant = [...grants].sort((a, b) => a[1] - b[1]);
      let total = 0;
      for (const [, at, tokens] of byGrant) {
        total += tokens;
        expect(total, `tokens granted by ${(at - origin).toFixed(3)} ms`).toBeLessThanOrEqual(CAPACITY + stepsAt(at));
      }
      // Within any window [a, b], no more than a full bucket plus the steps after a. Counted exactly,
      // without any tolerance: only the grants surely decided inside the window (called at or after
      // a, observed by b) are counted. tryGetToken() grants are known to the microsecond.
      const windowStarts = [...new Set(grants.map(([called]) => called))];
      for (const a of windowStarts) {
        const inside = byGrant.filter(([called]) => called >= a);
        let count = 0;
        for (const [, b, tokens] of inside) {
          count += tokens;
          const allowed = CAPACITY + stepsAt(b) - stepsAt(a);
          if (count > allowed) {
            expect(
              count,
              `tokens decided in ${(a - origin).toFixed(3)}..${(b - origin).toFixed(3)} ms`,
            ).toBeLessThanOrEqual(allowed);
          }
        }
      }
      expect(grants.length).toBeGreaterThan(0);
      // And the test did what it says: the bucket was busy from the first grant to the last (not all
      // of the schedule is granted: aborted reservations may pass unused, and the workers pause now
      // and then), every thread drew from it, and every kind of call happened.
      const first = defined(byGrant[0])[1];
      const end = defined(byGrant.at(-1))[1];
      expect(total).toBeGreaterThan(0.5 * (CAPACITY + stepsAt(end) - stepsAt(first)));
      for (const report of all) expect(report.outcomes.get.granted).toBeGreaterThan(0);
      expect(grants.filter(([, , , kind]) => kind === 'try').length).toBeGreaterThan(0);
      const sum = (kind: 'abort' | 'maxWait', outcome: 'granted' | 'rejected') =>
        all.reduce((n, report) => n + report.outcomes[kind][outcome], 0);
      expect(sum('abort', 'rejected')).toBeGreaterThan(0);
      expect(sum('maxWait', 'rejected')).toBeGreaterThan(0);
      bucket.close();
    },
    DURATION_MS + 30_000,
  );

  it('close() in one thread rejects the callers queued in other threads promptly, and their later calls', async () => {
    const bucket = new Shared({ capacity: 1, initialTokens: 0, refillInterval: 60_000 });
    const started = performance.now();
    const [waiting, result] = await runWorker<Record<string, unknown>>(
      waiterScript,
      { handle: bucket.handle, sharedUrl, calls: 3 },
      2,
      15_000,
      (message) => {
        if (message['waiting'] === true) bucket.close();
      },
    );
    expect(waiting).toEqual({ waiting: true, pending: 3 });
    expect(result).toMatchObject({
      settled: ['BucketClosedError', 'BucketClosedError', 'BucketClosedError'],
      tryAfterClose: 'BucketClosedError',
      getAfterClose: 'BucketClosedError',
    });
    // Through Atomics.waitAsync the worker learns at once, not at its minute-long timer.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('reconfigure() in one thread re-plans the callers queued in another, promptly', async () => {
    const bucket = new Shared({ capacity: 2, refillTokens: 1, refillInterval: 600_000, initialTokens: 0 });
    const started = performance.now();
    const [waiting, result] = await runWorker<Record<string, unknown>>(
      replanScript,
      { handle: bucket.handle, sharedUrl },
      2,
      15_000,
      (message) => {
        if (message['waiting'] === true) bucket.reconfigure({ capacity: 1, refillInterval: 20 });
      },
    );
    expect(waiting).toEqual({ waiting: true, pending: 2 });
    expect(result).toMatchObject({
      settled: ['granted', 'RangeError: count must not exceed the new capacity (1), received 2'],
      capacity: 1,
      stats: { granted: 1, tokensGranted: 1, overCapacity: 1, pending: 0 },
    });
    // Through Atomics.waitAsync the worker learns at once, not at its ten-minute timer.
    expect(performance.now() - started).toBeLessThan(10_000);
    bucket.close();
  });

  it("a pause in one thread holds for another thread's queued caller: granted no earlier than its end", async () => {
    const bucket = new Shared({ capacity: 1, refillInterval: 200, initialTokens: 0 });
    let pausedAt = Number.NaN;
    const [waiting, result] = await runWorker<Record<string, unknown>>(
      pauseScript,
      { handle: bucket.handle, sharedUrl },
      2,
      15_000,
      (message) => {
        if (message['waiting'] !== true) return;
        pausedAt = performance.timeOrigin + performance.now();
        bucket.pause(600);
      },
    );
    expect(waiting).toEqual({ waiting: true });
    // The worker's call was due 200 ms after the bucket's creation; the pause moved it to its end.
    expect(result).toMatchObject({ stats: { granted: 1, pending: 0 } });
    expect(Number(result?.['grantedAt']) - pausedAt).toBeGreaterThanOrEqual(600 - 1);
    bucket.close();
  });

  it('a handle survives postMessage: a bucket made from it in another thread draws from the same tokens', async () => {
    const bucket = new Shared({ capacity: 3, refillInterval: 60_000 });
    expect(bucket.tryGetToken(2)).toBe(true);
    const [report] = await runWorker<Report>(
      hammerScript,
      { handle: bucket.handle, sharedUrl, durationMs: 0, seed: 1 },
      1,
      15_000,
    );
    expect(defined(report, 'the report').grants).toEqual([]); // durationMs 0: it made no call
    const other = Shared.from(structuredClone(bucket.handle));
    expect(other.available).toBe(1);
    expect(other.tryGetToken()).toBe(true);
    expect(bucket.available).toBe(0);
    bucket.close();
  });

  it('a worker attached with from() whose performance.now() breaks takes nothing and never throws from getToken()', async () => {
    // Regression: there NaN took a token, +Infinity threw a RangeError from getToken() and tryGetToken(),
    // and a reading of 2^43 (beyond ±2^42 ms once timeOrigin is added) granted from a full bucket.
    const bucket = new Shared({ capacity: 3, initialTokens: 2, refillInterval: 60_000 });
    const readings = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 43, '5'];
    const [report] = await runWorker<{ outcomes: unknown[]; mendedTake: boolean }>(
      brokenClockScript,
      { handle: bucket.handle, sharedUrl, readings },
      1,
      15_000,
    );
    expect(defined(report, 'the report').outcomes).toEqual(
      readings.map((reading) => ({
        reading: String(reading),
        getToken: 'rejected InvalidClockReadingError',
        tryGetToken: 'threw InvalidClockReadingError',
        waitTime: 'threw InvalidClockReadingError',
        available: 2,
      })),
    );
    expect(report?.mendedTake).toBe(true); // once mended, the worker draws as before
    expect(bucket.available).toBe(1);
    expect(bucket.pending).toBe(0);
    bucket.close();
  });

  it('examples/shared-workers.mjs runs as written: 16 grants over about 3 s, and exits by itself', () => {
    // The example imports 'token-bucket-filter/shared'; point that at the build under test.
    const source = readFileSync(new URL('../examples/shared-workers.mjs', import.meta.url), 'utf8');
    expect(source).toContain("from 'token-bucket-filter/shared'");
    const folder = mkdtempSync(join(tmpdir(), 'shared-example-'));
    try {
      const script = join(folder, 'shared-workers.mjs');
      writeFileSync(script, source.replace("'token-bucket-filter/shared'", JSON.stringify(sharedUrl)));
      const result = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines.filter((line) => / worker \d got its token \d$/.test(line))).toHaveLength(16);
      const seconds = Number(/granted in ([\d.]+) s/.exec(lines.at(-1) ?? '')?.[1]);
      expect(seconds).toBeGreaterThanOrEqual(2.9); // 5 at once, then 5 per second: the last at 3 s
      expect(seconds).toBeLessThan(15);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 30_000);
});
