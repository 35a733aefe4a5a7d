import type { Clock } from './clock.js';

/** Options of one `getToken()` call. */
export interface GetTokenOptions {
  /**
   * Aborts the wait: the caller leaves the queue, takes no tokens, and the promise rejects with
   * `signal.reason` (untouched). An already aborted signal rejects at once.
   */
  signal?: AbortSignal | undefined;
  /**
   * The longest the caller is willing to wait, in ms (a non-negative number; `Infinity` by default).
   * If the grant would come later, the call rejects at once with `MaxWaitExceededError`.
   */
  maxWait?: number | undefined;
}

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
export interface TokenBucketFilter extends Disposable {
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

/** Which implementation `TokenBucketFilterFactory.create()` builds. */
export type TokenBucketFilterKind = 'lazy' | 'timer';

/** Options shared by every bucket. All times are in milliseconds, all counts in whole tokens. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds (its burst). A positive safe integer. Required. */
  capacity: number;
  /** Tokens added at each refill step. A positive safe integer; default 1. */
  refillTokens?: number | undefined;
  /** Milliseconds between refill steps. A positive finite number; default 1000. */
  refillInterval?: number | undefined;
  /** Tokens held at creation. An integer in `0..capacity`; default `capacity` (a full bucket). */
  initialTokens?: number | undefined;
  /**
   * Where time and timers come from; default `globalThis`, looked up at each use so that fake timers
   * installed after this package was imported are honoured. Install fake timers before creating the
   * bucket: its schedule starts at the clock reading of its creation.
   */
  clock?: Clock | undefined;
}

/** Options of `TokenBucketFilterFactory.create()`: the bucket options plus which implementation. */
export interface TokenBucketFilterOptions extends TokenBucketOptions {
  /** `'lazy'` (default) computes tokens on demand; `'timer'` runs a refill interval. */
  kind?: TokenBucketFilterKind | undefined;
}
