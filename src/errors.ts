import { formatValue } from './options/format.js';

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
 * QueueFullError is the rejection of a `getToken()` that would have had to wait while this bucket
 * instance's queue already held `maxQueue` callers (the bucket option; `maxQueue: 0` refuses every call
 * that would wait). It is refused at once: no tokens are taken and nothing is reserved, so the callers
 * queued keep their grant instants. A call that can be granted without waiting is never refused this
 * way. Its `name` is `'QueueFullError'`.
 */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';

  /**
   * @param queueLength callers waiting in this instance's queue at the call (at least `maxQueue`)
   * @param maxQueue the bucket's `maxQueue` in force at the call
   */
  constructor(
    readonly queueLength: number,
    readonly maxQueue: number,
  ) {
    super(`The queue is full: ${queueLength} callers are waiting and maxQueue is ${maxQueue}`);
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

/**
 * InvalidClockReadingError is how a bucket refuses to act on a clock reading it cannot trust: a
 * `clock.performance.now()` that returned something other than a finite number of ms within
 * ±{@link MAX_CLOCK_READING} (NaN, ±Infinity, a non-number, or a reading so large that the schedule's
 * step count would no longer be exact). Nothing is granted, taken or minted on such a reading:
 * `getToken()` rejects with this error, `tryGetToken()`, `waitTime()`, `reconfigure()` and the
 * constructors throw it, and a timer that wakes on such a reading grants nothing and looks again
 * shortly. The bucket goes on as before once the readings are valid again. It is a `TypeError` (the
 * clock returned a value of the wrong kind); its `name` is `'InvalidClockReadingError'`.
 */
export class InvalidClockReadingError extends TypeError {
  override readonly name = 'InvalidClockReadingError';

  /** @param reading what `clock.performance.now()` returned */
  constructor(readonly reading: unknown) {
    super(
      `clock.performance.now() returned ${formatValue(reading)}; a bucket needs a finite number of ms within ±2^42 (about 139 years), so it granted nothing`,
    );
  }
}

/** The largest clock reading (ms, either sign) a bucket acts on: 2^42 ms, about 139 years. */
export const MAX_CLOCK_READING = 2 ** 42;
