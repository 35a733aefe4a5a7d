// The options a bucket takes: at creation (one limit or several, and which implementation the factory
// builds), in `reconfigure()`, and per `getToken()` call. Reading and validating them is
// `src/options/`'s job; this file only declares them.
import type { Clock } from '../clock.js';
import type { BucketObserver } from './observer.js';
import type { AbortSignalLike } from './platform.js';

/** Options of one `getToken()` call. */
export interface GetTokenOptions {
  /**
   * Aborts the wait: the caller leaves the queue, takes no tokens, and the promise rejects with
   * `signal.reason` (untouched). An already aborted signal rejects at once.
   */
  signal?: AbortSignalLike | undefined;
  /**
   * The longest the caller is willing to wait, in ms (a non-negative number; `Infinity` by default).
   * If the grant would come later, the call rejects at once with `MaxWaitExceededError`.
   */
  maxWait?: number | undefined;
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
  /**
   * The most callers this bucket instance queues at once: a `getToken()` that would have to wait while
   * `maxQueue` callers are already waiting rejects at once with `QueueFullError`, taking no tokens and
   * reserving nothing, and is counted in `stats().queueFull`. A call granted without waiting is never
   * refused by it, and `tryGetToken()` is unaffected. `0` means "never wait": every call that would
   * wait rejects. A non-negative integer, or `Infinity` (the default: no cap). For a keyed bucket the
   * cap is per key; for a shared or Redis bucket it is per instance (this thread's or this process's
   * own queue; other instances have their own). `reconfigure({ maxQueue })` changes it for later calls
   * (queued callers stay).
   */
  maxQueue?: number | undefined;
  /**
   * Receives what the bucket does, as it happens: grants (with each caller's wait), refusals (with the
   * `stats()` counter they are counted in), queueing, aborts and the close; see {@link BucketObserver}.
   * Its methods are read once, at construction. None by default, and then no event costs anything.
   */
  observer?: BucketObserver | undefined;
  /** Not with these options: a bucket of several limits takes only `limits` (see {@link MultiLimitOptions}). */
  limits?: never;
}

/** Options of `TokenBucketFilterFactory.create()`: the bucket options plus which implementation. */
export interface TokenBucketFilterOptions extends TokenBucketOptions {
  /** `'lazy'` (default) computes tokens on demand; `'timer'` runs a refill interval. */
  kind?: TokenBucketFilterKind | undefined;
}

/**
 * One limit of a bucket that enforces several at once (see {@link MultiLimitOptions}): its own burst
 * and refill rate. All times are in milliseconds, all counts in whole tokens.
 */
export interface RefillLimit {
  /** Most tokens this limit holds. A positive safe integer. Required. */
  capacity: number;
  /** Tokens added at each of this limit's refill steps. A positive safe integer; default 1. */
  refillTokens?: number | undefined;
  /** Milliseconds between this limit's refill steps. A positive finite number; default 1000. */
  refillInterval?: number | undefined;
  /** Tokens this limit holds at creation. An integer in `0..capacity`; default `capacity`. */
  initialTokens?: number | undefined;
}

/**
 * Options of a bucket that enforces several limits at once, such as "10 per second and 1,000 per
 * hour": a grant of `count` tokens waits until every limit holds `count` tokens and takes them from
 * every limit at the same instant. FIFO order and exact arithmetic hold as with one limit; the
 * bucket's `capacity` (the largest count one call may ask for) is the smallest of the capacities.
 *
 * Supported by `LazyTokenBucketFilter`, `TimerTokenBucketFilter` (one refill timer per limit) and
 * `KeyedTokenBucketFilter`.
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({
 *   limits: [
 *     { capacity: 10, refillTokens: 10, refillInterval: 1000 },
 *     { capacity: 1000, refillTokens: 1000, refillInterval: 3_600_000 },
 *   ],
 * });
 */
export interface MultiLimitOptions {
  /** The limits, one or more; each schedule starts at the bucket's creation. */
  limits: readonly RefillLimit[];
  /** Where time and timers come from; see {@link TokenBucketOptions.clock}. */
  clock?: Clock | undefined;
  /** The most callers the bucket queues at once; see {@link TokenBucketOptions.maxQueue}. */
  maxQueue?: number | undefined;
  /** Receives what the bucket does; see {@link BucketObserver}. */
  observer?: BucketObserver | undefined;
  /** Not beside `limits`: give it inside each limit. */
  capacity?: never;
  /** Not beside `limits`: give it inside each limit. */
  refillTokens?: never;
  /** Not beside `limits`: give it inside each limit. */
  refillInterval?: never;
  /** Not beside `limits`: give it inside each limit. */
  initialTokens?: never;
}

/** Options of `TokenBucketFilterFactory.create()` for a bucket with several limits. */
export interface MultiLimitFilterOptions extends MultiLimitOptions {
  /** `'lazy'` (default) or `'timer'`. */
  kind?: TokenBucketFilterKind | undefined;
}

/**
 * Options of `reconfigure()`. Either new values for a single-limit bucket (an omitted option keeps its
 * current value), or `limits`: the complete new list of limits (defaults as at construction), for a
 * bucket of any number of limits. `initialTokens` is not accepted: the tokens carry over. Either form
 * may carry `maxQueue`; `{ maxQueue }` alone changes only the cap (the limits and their refill
 * schedule stay untouched).
 */
export type ReconfigureOptions =
  | {
      /** The new capacity. A positive safe integer. */
      capacity?: number | undefined;
      /** The new tokens per refill step. A positive safe integer. */
      refillTokens?: number | undefined;
      /** The new ms between refill steps. A positive finite number. */
      refillInterval?: number | undefined;
      /** The new `maxQueue`, for the calls made from now on (queued callers stay); see {@link TokenBucketOptions.maxQueue}. */
      maxQueue?: number | undefined;
      /** Not with these options: give `limits` alone. */
      limits?: never;
    }
  | {
      /** The new limits; limit `i` carries over the tokens of the old limit `i` (new ones start full). */
      limits: ReadonlyArray<Omit<RefillLimit, 'initialTokens'>>;
      /** The new `maxQueue`, for the calls made from now on; see {@link TokenBucketOptions.maxQueue}. */
      maxQueue?: number | undefined;
      /** Not beside `limits`: give it inside each limit. */
      capacity?: never;
      /** Not beside `limits`: give it inside each limit. */
      refillTokens?: never;
      /** Not beside `limits`: give it inside each limit. */
      refillInterval?: never;
    };
