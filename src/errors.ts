/**
 * BucketClosedError is how a bucket refuses work after `close()`: queued and later `getToken()` calls
 * reject with it, and `tryGetToken()` and `start()` throw it. Its `name` is `'BucketClosedError'`.
 */
export class BucketClosedError extends Error {
  override readonly name = 'BucketClosedError';

  constructor(message = 'The token bucket is closed') {
    super(message);
  }
}

/**
 * MaxWaitExceededError is the rejection of a `getToken()` whose grant would come later than its
 * `maxWait` allows. The bucket predicts the grant instant from its schedule and the queue ahead, so it
 * rejects at once instead of waiting to find out. Its `name` is `'MaxWaitExceededError'`.
 */
export class MaxWaitExceededError extends Error {
  override readonly name = 'MaxWaitExceededError';

  /**
   * @param waitTime milliseconds from the call until the tokens would have been granted
   * @param maxWait the caller's `maxWait`, in milliseconds
   */
  constructor(
    readonly waitTime: number,
    readonly maxWait: number,
  ) {
    super(`The tokens would be granted in ${waitTime} ms, later than maxWait (${maxWait} ms)`);
  }
}

/**
 * BucketNotStartedError is the rejection of a `getToken()` that would have to wait on a
 * `TimerTokenBucketFilter` whose `start()` was never called: without its refill timer nobody would
 * ever grant the wait. Create timer buckets with `TokenBucketFilterFactory.create()`, which starts
 * them. Its `name` is `'BucketNotStartedError'`.
 */
export class BucketNotStartedError extends Error {
  override readonly name = 'BucketNotStartedError';

  constructor() {
    super('The timer bucket was never started: call start(), or create it with TokenBucketFilterFactory.create()');
  }
}
