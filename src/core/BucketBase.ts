import { BucketClosedError } from '../errors.js';
import { resolveReconfigure } from '../options/bucketOptions.js';
import {
  checkCount,
  checkPauseMs,
  PLAIN_REQUEST,
  readGetTokenOptions,
  type GetTokenRequest,
} from '../options/requestOptions.js';
import type { PausableTokenBucketFilter } from '../TokenBucketFilter.js';
import type { GetTokenOptions, ReconfigureOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';
import { schedulesFrom, type BucketInit } from './bucketInit.js';
import { peekAvailable, takeNow } from './decide.js';
import { LocalBucket } from './LocalBucket.js';
import { msUntil } from './refill.js';

const GRANTED: Promise<void> = Promise.resolve();

/**
 * BucketBase is the contract every in-process bucket shares (`PausableTokenBucketFilter`):
 * argument checks, the closed state, the hot paths of `getToken()` and `tryGetToken()`, `waitTime()`,
 * `reconfigure()`, `stats()` and `close()`, over the store of {@link LocalBucket} (live limits, their
 * projection through the queue, and the waiting room).
 *
 * Every public method reads the clock once and passes that instant down to the pure arithmetic of
 * `decide.ts`, `limits.ts` and `refill.ts`.
 */
export abstract class BucketBase extends LocalBucket implements PausableTokenBucketFilter {
  protected constructor(init: BucketInit) {
    super(init);
  }

  /** The largest count one call may ask for: the capacity (the smallest, with several limits). */
  get capacity(): number {
    return this.limit.capacity;
  }

  get available(): number {
    if (this.closed) return 0;
    const now = this.timeline.tryNow();
    if (now !== undefined) this.sync(now);
    // On an invalid reading, as of the last valid one (a pause in force still holds then).
    return this.room.length === 0 ? peekAvailable(this.limit, now ?? this.timeline.lastReading) : 0;
  }

  get pending(): number {
    if (this.closed) return 0;
    this.syncIfValid();
    return this.room.length;
  }

  tryGetToken(count = 1): boolean {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.limit.capacity);
    if (invalid !== undefined) throw invalid;
    return this.tryTakeAt(count, this.timeline.now());
  }

  /**
   * `tryGetToken(count)` at clock reading `now`, once `count` and the reading are known to be valid
   * and the bucket open (the keyed bucket checks them before it picks a key's bucket).
   */
  tryTakeAt(count: number, now: number): boolean {
    // Waiters due by now are granted first; a queue left after that means nobody may barge.
    // Stryker disable next-line ConditionalExpression: equivalent, a fast path: queueGoneBy() of an empty room is true
    if (this.room.length !== 0 && !this.queueGoneBy(now)) return this.deny(count);
    return this.takeAtOnce(count, now) || this.deny(count);
  }

  /**
   * Whether the queue is empty once the waiters due by `now` are granted (a queue left after that means
   * nobody may barge). The slow half of the hot path's one test, for a bucket with waiters.
   */
  private queueGoneBy(now: number): boolean {
    this.sync(now);
    return this.room.length === 0;
  }

  /**
   * The hot path of `tryGetToken()` and `getToken()` once nobody waits: takes `count` tokens at once
   * if the one decision with no wait (which itself brings the tokens up to `now`) grants them, and
   * counts the grant. Returns whether it took them; false changes nothing the caller can see.
   */
  private takeAtOnce(count: number, now: number): boolean {
    if (!takeNow(this.limit, now, count)) return false;
    const counters = this.counters;
    counters.tokensGranted += count;
    counters.granted += 1;
    if (this.takeWakes) this.tokensTaken();
    // The one field check an unobserved bucket pays.
    counters.events?.granted(count, 0, this.eventKey);
    return true;
  }

  /** Counts and reports a refused `tryGetToken(count)`; returns false, its answer. */
  private deny(count: number): false {
    const counters = this.counters;
    counters.denied += 1;
    counters.events?.refused(count, 'denied', this.eventKey);
    return false;
  }

  waitTime(count = 1): number {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.limit.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    this.sync(now);
    // Behind the queue's projection, or on the live state itself when nobody waits (both brought to now).
    return msUntil(this.tailState().grantTime(count), now);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.limit.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      const request = options === undefined ? PLAIN_REQUEST : readGetTokenOptions(options);
      return this.takeOrWait(count, request, this.timeline.now());
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * `getToken(count, options)` at clock reading `now`, once the bucket is known to be open and `count`,
   * the options (read into `request`) and the reading valid. May throw what the signal's
   * `addEventListener` throws, having changed nothing; callers turn that into a rejection.
   */
  takeOrWait(count: number, request: GetTokenRequest, now: number): Promise<void> {
    // The same test as tryTakeAt's, its refusals sent to the queue's tail instead. Two calls of
    // enqueue(), not one after a shared test: with one, TurboFan inlines enqueue() here and runs out of
    // inlining budget for enqueue()'s own callees (+232 instructions a queued caller, counted by
    // bench/instructions.mjs --only enqueue).
    // Stryker disable next-line ConditionalExpression: equivalent, a fast path: queueGoneBy() of an empty room is true
    if (this.room.length !== 0 && !this.queueGoneBy(now)) return this.enqueue(count, request, now);
    return this.takeAtOnce(count, now) ? GRANTED : this.enqueue(count, request, now);
  }

  /**
   * Changes the limits; see `ReconfigurableTokenBucketFilter.reconfigure`. Throws on invalid
   * options (changing nothing) and after `close()`.
   */
  reconfigure(options: ReconfigureOptions): void {
    if (this.closed) throw new BucketClosedError();
    const { limits, maxQueue } = resolveReconfigure(options, this.limit.schedules());
    if (limits !== undefined) {
      const now = this.timeline.now();
      this.applySchedules(schedulesFrom(limits, now), now);
    }
    if (maxQueue !== undefined) this.cap.maxQueue = maxQueue; // for later calls: queued callers stay
  }

  /**
   * Grants nothing for `ms` ms from now; see {@link PausableTokenBucketFilter.pause}. Throws on
   * an invalid `ms` (changing nothing) and after `close()`.
   */
  pause(ms: number): void {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkPauseMs(ms);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    this.pauseAt(now, now + ms);
  }

  /** Returns a snapshot of the counters; see {@link TokenBucketStats}. */
  stats(): TokenBucketStats {
    this.syncIfValid(); // after close() too: nobody waits any more, so it only moves the tokens
    return this.counters.snapshot();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    const rejected = this.closeRoom();
    this.reportClose(rejected);
  }

  /** Tells the observer that `close()` rejected `rejected` callers (the keyed bucket tells it once, for every key). */
  protected reportClose(rejected: number): void {
    this.counters.events?.closed(rejected);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
