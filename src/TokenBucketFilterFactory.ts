import { KeyedTokenBucketFilter } from './keyed/KeyedTokenBucketFilter.js';
import type { KeyedTokenBucketOptions } from './keyed/keyedTypes.js';
import { LazyTokenBucketFilter } from './LazyTokenBucketFilter.js';
import { TimerTokenBucketFilter } from './TimerTokenBucketFilter.js';
import type { MultiLimitFilterOptions, TokenBucketFilterOptions } from './types/options.js';

/**
 * TokenBucketFilterFactory builds ready-to-use buckets. It exists so that a timer-driven bucket's
 * refill timer is started only after the object is fully constructed, never from its constructor.
 */
export const TokenBucketFilterFactory = {
  /**
   * Creates a bucket of the given `kind` (default `'lazy'`) and, for `'timer'`, starts its refill timer.
   * Returns a `LazyTokenBucketFilter` or a `TimerTokenBucketFilter` (typed by `kind`; either, when
   * `kind` is a variable), both `PausableTokenBucketFilter`s.
   *
   * Throws `TypeError` or `RangeError` when an option is invalid; the message names the option and
   * the value.
   *
   * @example
   * const bucket = TokenBucketFilterFactory.create({ capacity: 5, refillTokens: 1, refillInterval: 200 });
   * await bucket.getToken();
   */
  create: createTokenBucketFilter,
  /**
   * Creates a {@link KeyedTokenBucketFilter}: one lazy bucket per key, all with the given limits (one
   * or several), optionally bounded by `maxKeys`. Throws like `create()`.
   *
   * @example
   * const perUser = TokenBucketFilterFactory.createKeyed<string>({ capacity: 5, refillTokens: 1, refillInterval: 1000 });
   * await perUser.getToken('alice');
   */
  createKeyed<K = unknown>(options: KeyedTokenBucketOptions<K>): KeyedTokenBucketFilter<K> {
    return new KeyedTokenBucketFilter<K>(options);
  },
};

/** Options of `create()`: one limit or several, and the kind. */
type CreateOptions = TokenBucketFilterOptions | MultiLimitFilterOptions;

// The class of the kind asked for; a `kind` known only as `'lazy' | 'timer'` gives either class, which
// both have `reconfigure()` and `stats()`.
function createTokenBucketFilter(options: CreateOptions & { kind: 'timer' }): TimerTokenBucketFilter;
function createTokenBucketFilter(options: CreateOptions & { kind?: 'lazy' | undefined }): LazyTokenBucketFilter;
function createTokenBucketFilter(options: CreateOptions): LazyTokenBucketFilter | TimerTokenBucketFilter;
function createTokenBucketFilter(options: CreateOptions): LazyTokenBucketFilter | TimerTokenBucketFilter {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
  if (typeof options === 'object' && options !== null && options.kind === 'timer') {
    return new TimerTokenBucketFilter(options).start();
  }
  return new LazyTokenBucketFilter(options);
}
