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
