// The contract every bucket of this package honours: `TokenBucketFilter`, and the reconfigurable and
// pausable buckets built on it. The types of its options and results are declared in `src/types/`.
import type { GetTokenOptions, ReconfigureOptions } from './types/options.js';
import type { DisposableLike } from './types/platform.js';
import type { TokenBucketStats } from './types/stats.js';

/**
 * TokenBucketFilter is a token bucket rate limiter: await `getToken()` before each call to a limited
 * resource.
 *
 * The bucket holds at most `capacity` tokens and gains `refillTokens` every `refillInterval` ms on a
 * fixed schedule counted from its creation. Callers are served strictly first come, first served: a
 * caller is granted only after everyone queued before it, and `tryGetToken()` never jumps the queue.
 * Every implementation in this package honours this contract exactly, and one conformance suite
 * checks each of them.
 */
export interface TokenBucketFilter extends DisposableLike {
  /** Most tokens the bucket holds: its burst size. */
  readonly capacity: number;
  /**
   * Whole tokens that could be taken right now: the tokens held, or 0 while callers are queued
   * (they have first claim) or after `close()`.
   */
  readonly available: number;
  /** Callers waiting in the queue right now (0 after `close()`). */
  readonly pending: number;
  /**
   * Waits until `count` tokens (default 1) can be taken, after every caller queued before, and takes
   * them.
   *
   * Resolves at the grant; resolves at once, without queueing, when the tokens are there and nobody
   * waits. Rejects (never throws) with:
   * - `RangeError` if `count` is not a positive integer or is above `capacity`, or `maxWait` is not a
   *   non-negative number;
   * - `TypeError` if `options.signal` is not an `AbortSignal`;
   * - `signal.reason` if the signal is or becomes aborted before the grant (no tokens are taken);
   * - `QueueFullError` if the call would have to wait while `maxQueue` callers are already queued
   *   (nothing is taken; see `TokenBucketOptions.maxQueue`);
   * - `MaxWaitExceededError` if the grant would come more than `maxWait` ms from now;
   * - `BucketClosedError` if the bucket is or becomes closed.
   */
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
  /**
   * Takes `count` tokens (default 1) if they are there and nobody is queued; returns whether it did.
   * Never waits. Throws `RangeError` for a bad `count` and `BucketClosedError` after `close()`.
   */
  tryGetToken(count?: number): boolean;
  /**
   * Returns the ms from now until a `getToken(count)` made now would be granted, counting the queue
   * ahead of it: 0 if it would be granted at once. Throws like `tryGetToken()`.
   */
  waitTime(count?: number): number;
  /**
   * Closes the bucket: stops its timers, rejects every queued caller with `BucketClosedError`, and
   * makes later calls fail the same way. Closing twice is harmless. Also `[Symbol.dispose]()`.
   */
  close(): void;
}

/**
 * ReconfigurableTokenBucketFilter is a {@link TokenBucketFilter} whose limits can be changed while it
 * runs and which reports {@link TokenBucketStats}. `LazyTokenBucketFilter` and
 * `TimerTokenBucketFilter` implement it.
 */
export interface ReconfigurableTokenBucketFilter extends TokenBucketFilter {
  /**
   * Changes the limits now. The tokens held carry over (capped at the new capacity), the refill
   * schedule restarts from this call (the first new step comes one new `refillInterval` from now),
   * and the queued callers are re-planned under the new limits in the same order: a caller whose new
   * grant instant would break its `maxWait` (counted from its call) rejects with
   * `MaxWaitExceededError`, and one that asks for more than the new capacity rejects with
   * `RangeError`; the callers behind move up. `maxQueue` applies to the calls made after this one:
   * callers already queued stay, even above a lower cap. `reconfigure({ maxQueue })` alone changes
   * only the cap, leaving the limits and their schedule as they are.
   *
   * Throws `TypeError` or `RangeError` (naming the option and value) when an option is invalid, and
   * `BucketClosedError` after `close()`; on a throw nothing changes.
   *
   * @example
   * bucket.reconfigure({ refillTokens: 5 }); // the provider asked us to slow down
   */
  reconfigure(options: ReconfigureOptions): void;
  /** Returns a snapshot of the bucket's counters; cheap, and never throws (also after `close()`). */
  stats(): TokenBucketStats;
}

/**
 * PausableTokenBucketFilter is a {@link ReconfigurableTokenBucketFilter} that can also be paused, for
 * backing off when the upstream answers 429. `LazyTokenBucketFilter`, `TimerTokenBucketFilter` and
 * `SharedTokenBucketFilter` implement it, and `KeyedTokenBucketFilter` pauses one key with
 * `pause(key, ms)`. The Redis buckets have the same `pause()` returning a promise, for every process
 * sharing the key (see `RedisTokenBucketFilter.pause()`).
 */
export interface PausableTokenBucketFilter extends ReconfigurableTokenBucketFilter {
  /**
   * Grants nothing for `ms` milliseconds from now, to `getToken()` or `tryGetToken()`: the call to
   * make when the upstream answers 429 with `Retry-After`. The bucket refills through the pause on its
   * unchanged schedule, but when the pause ends each limit holds **at most one refill** (its
   * `refillTokens`, or what it would hold then if less): the bucket resumes at its steady rate, with
   * no burst that could earn the next 429. A limit that refills its whole capacity at once (a budget
   * of 10,000 a day) thus keeps its tokens; one that refills a token at a time starts again from one.
   *
   * Queued callers keep their order and are granted after the pause, and so are callers that queue
   * during it; `waitTime()` and `maxWait` count the pause, so a queued caller whose grant would now
   * come after its `maxWait` (counted from its call) rejects with `MaxWaitExceededError`. A second
   * `pause()` extends a pause in force and never shortens it; `pause(0)` only caps the tokens at
   * one refill. A pause holds through `reconfigure()` (capped at the new `refillTokens` at its end).
   *
   * Throws `TypeError` when `ms` is not a number, `RangeError` when it is negative, NaN or infinite
   * (naming the value), and `BucketClosedError` after `close()`; on a throw nothing changes.
   *
   * @example
   * if (response.status === 429) bucket.pause(Number(response.headers.get('retry-after')) * 1000);
   */
  pause(ms: number): void;
}
