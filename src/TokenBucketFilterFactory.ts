import { LazyTokenBucketFilter } from './LazyTokenBucketFilter.js';
import { TimerTokenBucketFilter } from './TimerTokenBucketFilter.js';
import type { TokenBucketFilter, TokenBucketFilterOptions } from './TokenBucketFilter.js';

/**
 * TokenBucketFilterFactory builds ready-to-use buckets. It exists so that a timer-driven bucket's
 * refill timer is started only after the object is fully constructed, never from its constructor.
 */
export const TokenBucketFilterFactory = {
  /**
   * Creates a bucket of the given `kind` (default `'lazy'`) and, for `'timer'`, starts its refill timer.
   *
   * Throws `TypeError` or `RangeError` when an option is invalid; the message names the option and
   * the value.
   *
   * @example
   * const bucket = TokenBucketFilterFactory.create({ capacity: 5, refillTokens: 1, refillInterval: 200 });
   * await bucket.getToken();
   */
  create: createTokenBucketFilter,
};

function createTokenBucketFilter(options: TokenBucketFilterOptions & { kind: 'timer' }): TimerTokenBucketFilter;
function createTokenBucketFilter(
  options: TokenBucketFilterOptions & { kind?: 'lazy' | undefined },
): LazyTokenBucketFilter;
function createTokenBucketFilter(options: TokenBucketFilterOptions): TokenBucketFilter;
function createTokenBucketFilter(options: TokenBucketFilterOptions): TokenBucketFilter {
  if (typeof options === 'object' && options !== null && options.kind === 'timer') {
    return new TimerTokenBucketFilter(options).start();
  }
  return new LazyTokenBucketFilter(options);
}
