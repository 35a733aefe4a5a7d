/**
 * RedisUnavailableError is how the Redis store fails closed: a `getToken()` (or `waitTime()`,
 * `available()`) that could not get an answer from Redis within `redisTimeout` ms, or got an error or
 * an unexpected reply instead, rejects with it (`tryGetToken()` resolves `false` instead). `cause` holds
 * what went wrong: the client's error, a {@link RedisTimeoutError}, or a `TypeError` describing an
 * unexpected reply. Its `name` is `'RedisUnavailableError'`.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';

  /** @param cause what went wrong talking to Redis */
  constructor(cause: unknown) {
    super(`Redis is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
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
