// What `stats()` returns: the snapshot of a bucket's counters.

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
