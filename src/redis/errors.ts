/**
 * RedisUnavailableError is how the Redis store fails closed: a `getToken()` (or `waitTime()`,
 * `available()`) that could not get an answer from Redis within `redisTimeout` ms, or got an error or
 * an unexpected reply instead, rejects with it (`tryGetToken()` resolves `false` instead). `cause` holds
 * what went wrong on this call's own key: the client's error, a {@link RedisTimeoutError}, or a
 * `TypeError` describing an unexpected reply; while the key's circuit breaker is open, the failure
 * that opened it (a failure on that key, never on another). Its `name` is `'RedisUnavailableError'`.
 *
 * `retryAfter` tells a retry loop how long to wait, in whole ms: until the key's breaker lets a call
 * try Redis again (half-open), at least 1 while it is open; 0 when the breaker is off
 * (`breakerCooldown: 0`) or the error did not come from a Redis call. A loop that retries at once
 * would only be refused again; the refusal still rejects after a macrotask, so timers keep firing.
 *
 * @example
 * for (;;) {
 *   try {
 *     await bucket.getToken();
 *     break;
 *   } catch (error) {
 *     if (!(error instanceof RedisUnavailableError)) throw error;
 *     await new Promise((resolve) => setTimeout(resolve, Math.max(error.retryAfter, 50)));
 *   }
 * }
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';

  /**
   * @param cause what went wrong talking to Redis
   * @param retryAfter ms until the key's breaker half-opens (see the class); 0 by default
   */
  constructor(
    cause: unknown,
    readonly retryAfter = 0,
  ) {
    super(`Redis is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * RedisKeyError is how a call fails when Redis answered with an error about the bucket's own key, not
 * an outage: the key holds a value of another type (`WRONGTYPE`: a list, a set, a user's data under
 * the bucket's name) or a string that is no bucket. It is a bug to surface, not a failure to hide:
 * every call on that key rejects with it (`getToken()`, `waitTime()`, `available()`, and
 * `tryGetToken()` too, which never resolves `false` for it), whatever `failMode` and `fallback` say
 * (neither grants past it), and it trips no circuit breaker: the other keys are answered as ever.
 * `key` is the Redis key (with its prefix and braces); `cause` is the client's error. The message
 * names both. Its `name` is `'RedisKeyError'`.
 */
export class RedisKeyError extends Error {
  override readonly name = 'RedisKeyError';

  /**
   * @param key the Redis key the error is about
   * @param cause the client's error (Redis' reply)
   */
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(
      `Redis refused the bucket's key ${JSON.stringify(key)}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * RedisTimeoutError is the `cause` of a {@link RedisUnavailableError} when Redis did not answer within
 * `redisTimeout` ms. The command may still run in Redis afterwards; the store then gives back any tokens
 * it took, when that is safe. Its `name` is `'RedisTimeoutError'`.
 */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';

  /** @param timeout the `redisTimeout` that passed, in ms */
  constructor(readonly timeout: number) {
    super(`Redis did not answer within ${timeout} ms (redisTimeout)`);
  }
}

/** What a Redis call of the store fails with: an outage (or a refusal while the key's breaker is open), or an error about its key. */
export type ScriptFailure = RedisUnavailableError | RedisKeyError;

/**
 * RedisReplicationError is the `cause` of a {@link RedisUnavailableError} when the store was created
 * with `replicas: { count, timeout }` and fewer than `count` replicas acknowledged the script's write
 * within `timeout` ms (`WAIT` replied `acknowledged`). The write happened on the master: tokens it took
 * stay taken (they may be lost in a failover, which is what `replicas` guards against), so the caller
 * is answered as `failMode` says. Its `name` is `'RedisReplicationError'`.
 */
export class RedisReplicationError extends Error {
  override readonly name = 'RedisReplicationError';

  /**
   * @param acknowledged how many replicas acknowledged the write (WAIT's reply)
   * @param required `replicas.count`
   * @param timeout `replicas.timeout`, in ms
   */
  constructor(
    readonly acknowledged: number,
    readonly required: number,
    readonly timeout: number,
  ) {
    super(`${acknowledged} of ${required} replicas acknowledged the write within ${timeout} ms (replicas)`);
  }
}
