import { BucketBase } from './core/BucketBase.js';
import { bucketInit } from './core/bucketInit.js';
import type { MultiLimitOptions, TokenBucketOptions } from './types/options.js';

/**
 * LazyTokenBucketFilter is a token bucket that computes its tokens from the elapsed time whenever it
 * is called, and sets no timer at all while tokens suffice.
 *
 * Callers that must wait queue in FIFO order and only the head of the queue sleeps, so the bucket
 * holds one timer at most, whatever the queue length. That timer is set synchronously inside the call
 * that made it necessary (so `vi.advanceTimersByTime()` and other synchronous fake-timer advances see
 * it), and it keeps the process alive, because somebody is waiting for it.
 *
 * This is the default kind and the cheapest: pick it unless you want a visible refill timer. It
 * accepts several limits at once (`limits: [...]`), can be changed live with `reconfigure()` and
 * counts what it does in `stats()` (see `ReconfigurableTokenBucketFilter`).
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 10, refillInterval: 1000 });
 * await bucket.getToken(); // at most 10 per second, in bursts of up to 10
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid (see
 * `TokenBucketOptions`); the message names the option and the value.
 */
export class LazyTokenBucketFilter extends BucketBase {
  /**
   * @param options one limit (`capacity`, `refillTokens`, `refillInterval`, `initialTokens`) or
   * several (`limits: [...]`), and optionally a `clock`
   */
  constructor(options: TokenBucketOptions | MultiLimitOptions) {
    super(bucketInit(options, 'lazy'));
  }

  // The head's one timer is the waiting room's: nothing else to stop.
  protected stopTimers(): void {}
}
