import { BucketClosedError } from '../errors.js';
import { resolveReconfigure, type ResolvedLimit } from '../options/bucketOptions.js';
import { checkPauseMs, readGetTokenOptions } from '../options/requestOptions.js';
import type { PausableTokenBucketFilter } from '../TokenBucketFilter.js';
import type { GetTokenOptions, MultiLimitOptions, ReconfigureOptions, TokenBucketOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';
import type { SharedTokenBucketFromOptions, SharedTokenBucketHandle } from './handle.js';
import { CLOSED } from './layout.js';
import { tellEveryThread } from './NoticeWatch.js';
import { attachThread, checkLimitCount, createThread } from './open.js';
import { availableAt, capacityOf, schedulesOf, statsOf, waitTimeAt } from './peek.js';
import { pause, reconfigure } from './replan.js';
import type { SharedThread } from './SharedThread.js';
import { takeNow } from './takeOrReserve.js';
import { getTokenAt } from './getToken.js';

export type { SharedTokenBucketFromOptions, SharedTokenBucketHandle } from './handle.js';

/**
 * SharedTokenBucketFilter is one token bucket shared by every thread (worker) of a process: its whole
 * state and configuration live in a `SharedArrayBuffer`, so eight workers that draw from it together
 * get the rate of one bucket, not eight. It takes the options of every bucket, one limit or several
 * (`limits`, at most 8), and implements `PausableTokenBucketFilter`: `pause()`, `reconfigure()` and
 * `stats()` as well as the `TokenBucketFilter` contract.
 *
 * Create it in one thread, send `bucket.handle` to each worker, and call
 * {@link SharedTokenBucketFilter.from} there; every instance draws from the same tokens.
 *
 * How it works: it decides exactly as the in-process buckets do, through the one core
 * (`src/core/decide.ts`), on state kept in shared memory: each limit's tokens and step. Each call
 * takes a short lock (one `Atomics.compareExchange` when free), reads the state, decides, writes it
 * back and releases (see `SharedState`). A `getToken()` that must wait *reserves* its tokens at the
 * exact instant of its grant, behind every reservation made before it in any thread, and then waits
 * in its own thread's `WaitingRoom`, one timer per thread. `tryGetToken()` fails while any thread
 * holds a reservation not yet due, so nobody barges. Times are read on one base for all threads:
 * `performance.timeOrigin + performance.now()`, or the injected clock's `performance.now()`; an
 * invalid reading is refused with `InvalidClockReadingError`, as every bucket refuses it.
 *
 * Differences from the in-process buckets, all about several threads:
 * - Order across threads is the order in which their reservations reached the shared state; within a
 *   thread it is strictly FIFO.
 * - An aborted caller's tokens go back (and this thread's callers behind it move up) only when nobody
 *   has written the state since this thread's latest reservation; otherwise its reserved instant
 *   passes unused, since later reservations are counted on it. Nobody ever gets more than the
 *   schedule allows.
 * - `reconfigure()` in any thread holds for all. The tokens carry over as in every bucket; each thread
 *   re-plans its own queued callers (the caller's thread at once, the others as soon as they notice:
 *   at once through `Atomics.waitAsync`, otherwise within 1 s, and always before granting any),
 *   refusing one above the new capacity with `RangeError` and one past its `maxWait` with
 *   `MaxWaitExceededError`. Across threads, re-planned callers line up in the order their threads
 *   re-plan; while callers of other threads wait, the tokens promised to them are carried as a debt.
 * - `close()` in any thread closes the bucket for all: their later calls fail with
 *   `BucketClosedError`, and their queued callers are rejected as soon as they notice (as above).
 * - `pending` and `stats()` count the callers and calls of every thread (a caller whose worker was
 *   terminated while it waited stays counted in `pending`); `maxWait` counts every thread's queue.
 * - `[Symbol.dispose]()` is `close()`: `using` in a worker closes the bucket for every thread.
 * - A worker terminated while it holds the lock (a few hundred nanoseconds per call) leaves it held,
 *   and every thread then waits on it: terminate workers when they are idle, or let them exit.
 *
 * It uses no Node-only API: browsers work too, in a page that is cross-origin isolated (where
 * `SharedArrayBuffer` exists); on a browser's main thread the lock spins instead of sleeping.
 *
 * @example
 * // main.mjs
 * const bucket = new SharedTokenBucketFilter({ capacity: 10, refillTokens: 10, refillInterval: 1000 });
 * new Worker(new URL('./worker.mjs', import.meta.url), { workerData: bucket.handle });
 * // worker.mjs
 * const bucket = SharedTokenBucketFilter.from(workerData);
 * await bucket.getToken(); // at most 10 per second across all workers
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid (the same options
 * and messages as every bucket; `kind` is refused, and `limits` may hold at most 8 limits), when
 * `SharedArrayBuffer` is unavailable, and `InvalidClockReadingError` when the clock's reading is invalid.
 */
export class SharedTokenBucketFilter implements PausableTokenBucketFilter {
  /** This thread's side of the bucket: the shared state, its clock and its waiting callers. */
  private thread!: SharedThread;

  /**
   * Creates a bucket in a new `SharedArrayBuffer`, with full limits (or their `initialTokens`) at this
   * instant: the schedule starts at the clock reading taken inside this call, and no thread takes a
   * step's tokens before its own clock reads that reading + step × `refillInterval` (ms), so time
   * grants from a reading taken before the call. Options as for every bucket (`TokenBucketOptions` or
   * `MultiLimitOptions`), read as own properties only; with `clock`, every thread that uses the bucket
   * must pass the same kind of clock to {@link SharedTokenBucketFilter.from}.
   */
  constructor(options: TokenBucketOptions | MultiLimitOptions) {
    this.thread = createThread(options);
  }

  /**
   * Returns a bucket that draws from the same tokens as the one `handle` came from (`bucket.handle`,
   * possibly created in another thread). Cheap: it allocates no shared memory; call it once per thread.
   * `handle.buffer` and `options.clock` are read as own properties only.
   *
   * Throws `TypeError` when `handle` is not a handle of a shared bucket (or comes from a build with an
   * older layout: every thread must load the same build), or when `options.clock` does not match how
   * the bucket was created (an injected clock on one side only).
   */
  static from(handle: SharedTokenBucketHandle, options: SharedTokenBucketFromOptions = {}): SharedTokenBucketFilter {
    const thread = attachThread(handle, options);
    // An instance of this class on an existing buffer. It runs no constructor (a constructor creates a
    // bucket), so that nothing has to be smuggled into one: its thread is the whole of what it holds.
    const bucket = Object.create(SharedTokenBucketFilter.prototype) as SharedTokenBucketFilter;
    bucket.thread = thread;
    return bucket;
  }

  /** Send this to a worker (`postMessage`, `workerData`) and pass it to {@link SharedTokenBucketFilter.from}. */
  get handle(): SharedTokenBucketHandle {
    return this.thread.handle;
  }

  /** The largest count one call may ask for: the capacity in force (the smallest, with several limits). */
  get capacity(): number {
    return capacityOf(this.thread.state);
  }

  get available(): number {
    const thread = this.thread;
    if (thread.sync()) return 0;
    const now = thread.tryNow() ?? thread.lastReading;
    if (thread.room.queued !== 0) thread.room.drain(now);
    return availableAt(thread.state, now);
  }

  get pending(): number {
    const thread = this.thread;
    if (thread.sync()) return 0;
    if (thread.room.queued !== 0) thread.room.drain(thread.tryNow());
    return thread.state.pending;
  }

  tryGetToken(count = 1): boolean {
    const thread = this.thread;
    thread.checkCall(count);
    const now = thread.nowDue();
    const taken = takeNow(thread.state, thread.takeCache, now, count);
    const events = thread.events;
    if (events !== undefined) {
      if (taken) events.granted(count, 0, undefined);
      else events.refused(count, 'denied', undefined);
    }
    return taken;
  }

  waitTime(count = 1): number {
    const thread = this.thread;
    thread.checkCall(count);
    return waitTimeAt(thread.state, thread.nowDue(), count);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      const thread = this.thread;
      thread.checkCall(count);
      const request = readGetTokenOptions(options);
      const now = thread.nowDue();
      return getTokenAt(thread, count, request, now);
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Changes the limits for every thread; see `ReconfigurableTokenBucketFilter.reconfigure` and the
   * class comment for how the callers queued in other threads are re-planned. `maxQueue` is this
   * instance's alone: it changes the cap on this thread's queue, for the calls made after it (alone,
   * it leaves the limits untouched, and other threads see nothing). Throws `TypeError` or `RangeError`
   * on invalid options (at most 8 limits), `BucketClosedError` after `close()`, and
   * `InvalidClockReadingError` on an invalid clock reading; on a throw nothing changes.
   */
  reconfigure(options: ReconfigureOptions): void {
    const thread = this.thread;
    if (thread.sync()) throw new BucketClosedError();
    // Read outside the lock: the options' getters are the caller's code.
    const { limits, maxQueue } = resolveReconfigure(options, schedulesOf(thread.state));
    if (limits !== undefined) this.reconfigureLimits(limits);
    if (maxQueue !== undefined) thread.cap.maxQueue = maxQueue; // for later calls: queued callers stay
  }

  /** Puts `limits` in force for every thread (see {@link reconfigure}). */
  private reconfigureLimits(limits: readonly ResolvedLimit[]): void {
    checkLimitCount(limits.length);
    const now = this.thread.now();
    this.thread.changeForAll(now, (state, mine) => reconfigure(state, now, limits, mine));
  }

  /**
   * Grants nothing for `ms` ms from now, in any thread; see `PausableTokenBucketFilter.pause`. Every
   * thread's queued callers are decided again after the pause, in order within each thread (this
   * thread's at once, the others' when they see the pause, before they grant anyone); across threads,
   * in the order in which they re-plan. With callers of other threads queued, the tokens held at the
   * pause's end are counted without the tokens promised to them, so a pause shorter than one
   * `refillInterval` may resume with fewer tokens than an in-process bucket would (never more).
   * Throws `TypeError`/`RangeError` for a bad `ms`, `BucketClosedError` after `close()` and
   * `InvalidClockReadingError` on an invalid clock reading; on a throw nothing changes.
   */
  pause(ms: number): void {
    const thread = this.thread;
    if (thread.sync()) throw new BucketClosedError();
    const invalid = checkPauseMs(ms);
    if (invalid !== undefined) throw invalid;
    const now = thread.now();
    thread.changeForAll(now, (state, mine) => pause(state, now, now + ms, mine));
  }

  /**
   * Returns the counters of every thread together (see `TokenBucketStats`): the calls of every
   * instance on this bucket's buffer since its creation. Never throws, also after `close()`.
   */
  stats(): TokenBucketStats {
    const thread = this.thread;
    if (!thread.sync() && thread.room.queued !== 0) thread.room.drain(thread.tryNow());
    return statsOf(thread.state);
  }

  /**
   * Closes the bucket in every thread: rejects this thread's queued callers with `BucketClosedError`
   * and stops its timer at once; other threads reject theirs as soon as they notice (at once where
   * `Atomics.waitAsync` exists, otherwise within 1 s), and every later call in any thread fails with
   * `BucketClosedError`. Closing twice, or in two threads, is harmless.
   */
  close(): void {
    const thread = this.thread;
    if (thread.sync()) return;
    const words = thread.state.words;
    Atomics.store(words, CLOSED, 1);
    tellEveryThread(words);
    thread.closeHere();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
