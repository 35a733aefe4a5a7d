import type { Clock } from './clock.js';

// The declarations this package ships compile with no lib beyond ES2022 and no `@types/node`: what
// they need of `Disposable` and `AbortSignal` (lib esnext.disposable and lib dom) is declared here.

declare global {
  interface SymbolConstructor {
    /**
     * The method `using` calls at the end of a block, declared as lib esnext.disposable and `@types/node`
     * declare it (the declarations merge), so that `[Symbol.dispose](): void` compiles with lib ES2022.
     */
    readonly dispose: unique symbol;
  }
}

/**
 * DisposableLike is TypeScript's `Disposable` (lib esnext.disposable), which every bucket is: its
 * `[Symbol.dispose]()` closes it, so `using bucket = …` closes the bucket at the end of the block.
 */
export interface DisposableLike {
  /** Closes the bucket, as `close()` does. */
  [Symbol.dispose](): void;
}

/**
 * AbortSignalLike is the `AbortSignal` of the consumer's types when they declare one (lib dom, lib
 * webworker or `@types/node`), so every real signal is accepted; with no such types (lib ES2022 alone)
 * it is {@link AbortSignalShape}, the part of a signal that a bucket uses.
 */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer Signal } }
  ? Signal
  : AbortSignalShape;

/**
 * AbortSignalShape is what a bucket uses of an abort signal: `aborted`, `reason`, and one listener for
 * the `'abort'` event, called with an event whose `target` is the signal. A DOM or Node `AbortSignal`
 * has it; it stands in for one where no `AbortSignal` type is declared.
 */
export interface AbortSignalShape {
  /** Whether the signal has aborted. */
  readonly aborted: boolean;
  /** Why it aborted: what the aborted calls reject with, untouched. */
  readonly reason: unknown;
  /** Registers `listener` for the `'abort'` event. */
  addEventListener(type: 'abort', listener: (event: { readonly target: unknown }) => void, options?: object): void;
  /** Removes a listener registered with `addEventListener()`. */
  removeEventListener(type: 'abort', listener: (event: { readonly target: unknown }) => void): void;
}

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

/**
 * TokenBucketStats is a snapshot of a bucket's counters since its creation. Counting costs a few
 * integer additions per call and allocates nothing; only `stats()` allocates its result.
 */
export interface TokenBucketStats {
  /** Tokens handed out, by `getToken()` grants and successful `tryGetToken()` calls. */
  readonly tokensGranted: number;
  /** Calls granted: resolved `getToken()` calls plus `tryGetToken()` calls that returned `true`. */
  readonly granted: number;
  /** `tryGetToken()` calls that returned `false`. */
  readonly denied: number;
  /** `getToken()` calls rejected with `MaxWaitExceededError`, at the call or when `reconfigure()` re-planned them. */
  readonly maxWaitExceeded: number;
  /**
   * `getToken()` calls rejected with `QueueFullError`: they would have waited while this instance's
   * queue held `maxQueue` callers. Such a call takes nothing and is counted here only (not in `denied`).
   */
  readonly queueFull: number;
  /** Queued `getToken()` calls that left the queue because their signal aborted. */
  readonly aborted: number;
  /** Queued `getToken()` calls rejected with `BucketClosedError` by `close()`. */
  readonly closed: number;
  /** Queued `getToken()` calls rejected with `RangeError` by `reconfigure()`: they asked for more than the new capacity. */
  readonly overCapacity: number;
  /** Callers waiting in the queue right now (for a keyed bucket: across all keys). */
  readonly pending: number;
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
 * Why a call was refused, as a {@link BucketObserver} hears it: the name of the `stats()` counter the
 * refusal is counted in. `'denied'`: a `tryGetToken()` that returned false; `'maxWaitExceeded'`: a
 * `getToken()` rejected with `MaxWaitExceededError` (at the call, or re-planned by `reconfigure()` or `pause()`);
 * `'queueFull'`: rejected with `QueueFullError`; `'overCapacity'`: a queued call rejected by a
 * `reconfigure()` that left its count above the new capacity.
 */
export type RefusalReason = 'denied' | 'maxWaitExceeded' | 'queueFull' | 'overCapacity';

/**
 * BucketObserver receives what a bucket does, as it happens, through the `observer` option: every call
 * that `stats()` counts is reported once, to the method named after what became of it, so that metrics
 * fed from the observer add up to `stats()` exactly. Every method is optional. All times are in ms,
 * all counts in tokens; waits are measured on the bucket's clock, from the call.
 *
 * - `granted(count, waitedMs)`: a call got its `count` tokens, `waitedMs` after it was made (0 for a
 *   grant without waiting, `tryGetToken()` included; for a Redis bucket, a grant at the reply is the
 *   round trip).
 * - `refused(count, reason)`: a call was refused; `reason` names the `stats()` counter it is counted
 *   in ({@link RefusalReason}). Invalid arguments and calls after `close()` are not counted, nor reported.
 * - `queued(count, queueLength)`: a `getToken()` started waiting; `queueLength` is this instance's
 *   `pending`, it included.
 * - `aborted(count, waitedMs, reason)`: a waiting call left because its signal aborted with `reason`
 *   (what it rejects with), `waitedMs` after it was made (NaN if the clock's reading was invalid then).
 * - `closed(pendingRejected)`: `close()` rejected that many waiting callers (for a shared bucket: this
 *   instance's, when it closes or notices another thread's close).
 *
 * On a keyed bucket each method but `closed` gets the key as its last argument (`K`). Methods, not
 * event objects: an observed bucket allocates nothing per event (an observed bucket's waiters each
 * keep the instant of their call, for `waitedMs`), and an unobserved one pays a field check per call.
 * Methods are called synchronously, at the moment of the event, once the bucket is consistent again
 * (calling the bucket from one is safe). A method that throws does not break the bucket: the error is
 * rethrown in a microtask (`queueMicrotask`), where the runtime reports it as it reports an
 * `EventTarget` listener's (in Node, an uncaught exception), and the bucket carries on.
 *
 * Methods are read once, when the bucket is created, own or inherited (a class instance works), but
 * never from `Object.prototype`. The observer must have at least one of them.
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({
 *   capacity: 10,
 *   observer: {
 *     granted: (count, waitedMs) => histogram.record(waitedMs),
 *     refused: (count, reason) => refusals.add(1, { reason }),
 *   },
 * });
 */
export interface BucketObserver<K = undefined> {
  /** A call got `count` tokens, `waitedMs` ms after it was made (0: without waiting). */
  granted?(count: number, waitedMs: number, key: K): void;
  /** A call for `count` tokens was refused; `reason` is the `stats()` counter it is counted in. */
  refused?(count: number, reason: RefusalReason, key: K): void;
  /** A `getToken(count)` started waiting; `queueLength` callers of this instance wait now, it included. */
  queued?(count: number, queueLength: number, key: K): void;
  /** A waiting call for `count` tokens left, `waitedMs` ms after it was made: its signal aborted with `reason`. */
  aborted?(count: number, waitedMs: number, reason: unknown, key: K): void;
  /** `close()` rejected `pendingRejected` waiting callers. */
  closed?(pendingRejected: number): void;
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
