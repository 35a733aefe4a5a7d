// The option and stats types of a `KeyedTokenBucketFilter`: what it takes beside the bucket options,
// and what its `stats()` adds to a bucket's.
import type { BucketObserver } from '../types/observer.js';
import type { MultiLimitOptions, TokenBucketOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';

/** The options a keyed bucket adds to the bucket options, or types by its key. */
export interface KeyedOptions<K = unknown> {
  /**
   * Most keys held at once, a positive safe integer; unbounded by default. When a new key would go
   * above it, the least recently used key is evicted. Evicting a bucket that is not full forgets that
   * its tokens were spent: that key's next call starts from a new bucket, so its limit can be exceeded.
   * This is the only way a keyed bucket can exceed a limit; each such eviction is counted in
   * `stats().evictions`. Keys with queued callers are never evicted (they may push `size` above
   * `maxKeys`).
   */
  maxKeys?: number | undefined;
  /**
   * Receives what every key's bucket does, with the key as the last argument of each method but
   * `closed` (called once, with the callers of every key that `close()` rejected); see `BucketObserver`.
   */
  observer?: BucketObserver<K> | undefined;
}

/**
 * Options of a {@link KeyedTokenBucketFilter}: one limit or several, a clock, `maxQueue` (per key),
 * `maxKeys`, and an `observer` told the key of each event.
 */
export type KeyedTokenBucketOptions<K = unknown> = (
  Omit<TokenBucketOptions, 'observer'> | Omit<MultiLimitOptions, 'observer'>
) &
  KeyedOptions<K>;

/** What `KeyedTokenBucketFilter.stats()` returns: the counts of all keys together, plus the keys. */
export interface KeyedTokenBucketStats extends TokenBucketStats {
  /** Keys held right now (the same as `size`). */
  readonly keys: number;
  /** Full, idle buckets dropped (they lose nothing: a new bucket for the key is identical). */
  readonly dropped: number;
  /** Buckets evicted by `maxKeys` before they were full: each is a key whose limit may be exceeded. */
  readonly evictions: number;
}
