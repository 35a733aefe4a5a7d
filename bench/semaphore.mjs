#!/usr/bin/env node
/**
 * Does async-mutex's Semaphore meet the bar that issue 14 sets for wrap()'s concurrency cap?
 *
 *   npm run build && npm ci --prefix bench && node --expose-gc bench/semaphore.mjs [--quick]
 *
 * Against the same checks on `wrap(bucket, fn, { concurrency })` (our own semaphore,
 * src/wrap/Semaphore.ts, through the built package), it measures:
 *
 * 1. **Drain**: n callers queue for one slot (n = 10,000 and 100,000), then the slot is freed; the time
 *    until the last one has had it. O(1) enqueue and release make 10× the callers cost about 10× the
 *    time; an O(n) release makes it cost about 100×. For async-mutex, `acquire()` then `release()`;
 *    for ours, a wrapped no-op on a bucket that never runs out (so its figure includes the bucket).
 *    Medians of 3 rounds.
 * 2. **Abort**: 100,000 callers wait for a slot that stays held, each with a 10 ms limit (async-mutex
 *    has no AbortSignal; its `withTimeout()` is the way to give up a wait; ours is `maxWait: 10`, which
 *    takes the same path out of the queue as an abort). After the limits have run out: the retained
 *    heap, and how many entries the semaphore's queue still holds (async-mutex's private `_queue`;
 *    ours has none left once the callers are rejected, which the heap figure shows).
 * 3. **Fake timers installed after import**: `@sinonjs/fake-timers` installed after both are imported;
 *    does a 1,000 ms limit fire on `clock.tick(1000)`?
 */
import FakeTimers from '@sinonjs/fake-timers';
import { Semaphore, withTimeout } from 'async-mutex';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { distDir } from './lib/libraries.mjs';

const quick = process.argv.includes('--quick');
const sizes = quick ? [1000, 10_000] : [10_000, 100_000];
const rounds = quick ? 1 : 3;
const abortCount = quick ? 10_000 : 100_000;

const entry = `${distDir}/index.js`;
if (!existsSync(entry)) throw new Error(`${entry} is missing: build the package first (npm run build)`);
const { LazyTokenBucketFilter, wrap } = await import(pathToFileURL(entry).href);

const gc = globalThis.gc ?? (() => {});
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function drainAsyncMutex(n) {
  const semaphore = new Semaphore(1);
  const [, holder] = await semaphore.acquire();
  let last;
  const done = Array.from({ length: n }, () => semaphore.acquire().then(([, release]) => release()));
  const start = performance.now();
  holder();
  await Promise.all(done).then(() => (last = performance.now()));
  return last - start;
}

async function drainOurs(n) {
  const bucket = new LazyTokenBucketFilter({ capacity: n + 1 });
  let releaseHolder;
  const limited = wrap(bucket, (hold) => (hold ? new Promise((resolve) => (releaseHolder = resolve)) : undefined), {
    concurrency: 1,
  });
  void limited(true);
  await settle();
  const done = Array.from({ length: n }, () => limited(false));
  const start = performance.now();
  releaseHolder();
  await Promise.all(done);
  const elapsed = performance.now() - start;
  bucket.close();
  return elapsed;
}

function heapMB() {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function abortAsyncMutex(n) {
  const semaphore = new Semaphore(1);
  const timed = withTimeout(semaphore, 10);
  const [, holder] = await semaphore.acquire();
  const before = heapMB();
  let rejected = 0;
  for (let i = 0; i < n; i += 1) timed.acquire().then(undefined, () => (rejected += 1));
  const queued = heapMB();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await settle();
  const after = heapMB();
  const stillQueued = semaphore._queue.length;
  holder();
  await settle();
  return { rejected, queuedMB: queued - before, retainedMB: after - before, stillQueued };
}

async function abortOurs(n) {
  const bucket = new LazyTokenBucketFilter({ capacity: 10 });
  let releaseHolder;
  const limited = wrap(bucket, (hold) => (hold ? new Promise((resolve) => (releaseHolder = resolve)) : undefined), {
    concurrency: 1,
    maxWait: 10,
  });
  void limited(true);
  await settle();
  const before = heapMB();
  let rejected = 0;
  for (let i = 0; i < n; i += 1) limited(false).then(undefined, () => (rejected += 1));
  const queued = heapMB();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await settle();
  const after = heapMB();
  releaseHolder();
  await settle();
  bucket.close();
  return { rejected, queuedMB: queued - before, retainedMB: after - before, stillQueued: 'none (heap)' };
}

async function fakeTimersAsyncMutex() {
  const clock = FakeTimers.install();
  try {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    let outcome = 'pending';
    withTimeout(semaphore, 1000)
      .acquire()
      .then(
        () => (outcome = 'acquired'),
        () => (outcome = 'timed out'),
      );
    await clock.tickAsync(1000);
    return outcome;
  } finally {
    clock.uninstall();
  }
}

async function fakeTimersOurs() {
  const clock = FakeTimers.install();
  try {
    const bucket = new LazyTokenBucketFilter({ capacity: 10 });
    const limited = wrap(bucket, (hold) => (hold ? new Promise(() => {}) : undefined), {
      concurrency: 1,
      maxWait: 1000,
    });
    void limited(true);
    let outcome = 'pending';
    limited(false).then(
      () => (outcome = 'acquired'),
      (error) => (outcome = error.name === 'MaxWaitExceededError' ? 'timed out' : String(error)),
    );
    await clock.tickAsync(1000);
    bucket.close();
    return outcome;
  } finally {
    clock.uninstall();
  }
}

console.log(
  `Node ${process.version}, ${process.platform} ${process.arch}${quick ? ' (quick: sizes mean little)' : ''}`,
);
console.log('\n1. Drain: time from freeing the slot until the last of n queued callers has had it (median ms)\n');
console.log('| callers | async-mutex Semaphore | wrap() concurrency: 1 |');
console.log('| ---: | ---: | ---: |');
for (const n of sizes) {
  const theirs = [];
  const ours = [];
  for (let round = 0; round < rounds; round += 1) {
    gc();
    theirs.push(await drainAsyncMutex(n));
    gc();
    ours.push(await drainOurs(n));
  }
  console.log(`| ${n.toLocaleString('en')} | ${median(theirs).toFixed(1)} | ${median(ours).toFixed(1)} |`);
}

console.log(`\n2. Giving up: ${abortCount.toLocaleString('en')} callers with a 10 ms limit wait for a held slot\n`);
console.log('| | rejected | heap while queued (MB) | heap after they gave up (MB) | left in the queue |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, run] of [
  ['async-mutex withTimeout(semaphore, 10)', abortAsyncMutex],
  ['wrap() concurrency: 1, maxWait: 10', abortOurs],
]) {
  const r = await run(abortCount);
  console.log(
    `| ${name} | ${r.rejected.toLocaleString('en')} | ${r.queuedMB.toFixed(1)} | ${r.retainedMB.toFixed(1)} | ${typeof r.stillQueued === 'number' ? r.stillQueued.toLocaleString('en') : r.stillQueued} |`,
  );
}

console.log('\n3. Fake timers installed after import: a 1000 ms limit after clock.tickAsync(1000)\n');
console.log(`- async-mutex withTimeout: ${await fakeTimersAsyncMutex()}`);
console.log(`- wrap() maxWait: ${await fakeTimersOurs()}`);
console.log(
  '\nasync-mutex has no AbortSignal: acquire(weight, priority) takes none, and cancel() rejects every waiter.',
);
