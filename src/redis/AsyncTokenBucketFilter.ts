import type { GetTokenOptions } from '../types/options.js';
import type { DisposableLike } from '../types/platform.js';

/**
 * AsyncTokenBucketFilter is the asynchronous counterpart of `TokenBucketFilter`, for buckets whose state
 * lives outside the process (such as `RedisTokenBucketFilter`): every question that needs the shared
 * state is answered with a promise.
 *
 * Compared with `TokenBucketFilter`:
 * - `tryGetToken()` and `waitTime()` return promises, and reject (never throw) on bad input or after
 *   `close()`;
 * - `available()` is a method returning a promise (the in-process getter reads local state);
 * - `pending` counts the callers of *this instance* that wait (other processes' callers are not known),
 *   and stays synchronous;
 * - aborting a waiter gives its tokens back only when no caller of another instance (or process) has
 *   reserved on top of them since; then this instance's callers behind it move up, as in-process
 *   ones do. Otherwise the callers behind an aborted one keep their (later) grant instants.
 *
 * Everything else is the same contract: discrete refill steps on a fixed schedule, integer tokens,
 * strict FIFO, `maxWait`, `signal`, and `close()` rejecting every waiter of this instance.
 */
export interface AsyncTokenBucketFilter extends DisposableLike {
  /** Most tokens the bucket holds: its burst size. */
  readonly capacity: number;
  /** Callers of this instance waiting right now: sent to the store or sleeping on a reservation. */
  readonly pending: number;
  /**
   * Resolves with the whole tokens that could be taken right now: the tokens held, or 0 while any
   * caller (of any process) waits. Resolves 0 after `close()`.
   */
  available(): Promise<number>;
  /** Waits until `count` tokens (default 1) can be taken, after every caller queued before, and takes them. */
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
  /** Takes `count` tokens (default 1) if they are there and nobody is queued; resolves whether it did. */
  tryGetToken(count?: number): Promise<boolean>;
  /** Resolves with the ms from now until a `getToken(count)` made now would be granted (0: at once). */
  waitTime(count?: number): Promise<number>;
  /** Rejects every waiter of this instance with `BucketClosedError`, stops its timers; idempotent. */
  close(): void;
}
