import { schedulesFrom } from '../core/bucketInit.js';
import { BucketCounters } from '../core/counters.js';
import { limitStateAt } from '../core/limits.js';
import { msUntil, stepTime, stepsUntil, type RefillSchedule } from '../core/refill.js';
import { SignalWatch } from '../core/SignalWatch.js';
import { Timeline } from '../core/Timeline.js';
import { BucketClosedError } from '../errors.js';
import { resolveBucketOptions, resolveReconfigure } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import { checkCount, PLAIN_REQUEST, readGetTokenOptions } from '../options/requestOptions.js';
import type {
  DisposableLike,
  GetTokenOptions,
  MultiLimitOptions,
  ReconfigureOptions,
  TokenBucketOptions,
  TokenBucketStats,
} from '../TokenBucketFilter.js';
import { KeyBucket, type KeyBucketOwner } from './KeyBucket.js';

/** The option a keyed bucket adds to the bucket options. */
export interface KeyedOptions {
  /**
   * Most keys held at once, a positive safe integer; unbounded by default. When a new key would go
   * above it, the least recently used key is evicted. Evicting a bucket that is not full forgets that
   * its tokens were spent: that key's next call starts from a new bucket, so its limit can be exceeded.
   * This is the only way a keyed bucket can exceed a limit; each such eviction is counted in
   * `stats().evictions`. Keys with queued callers are never evicted (they may push `size` above
   * `maxKeys`).
   */
  maxKeys?: number | undefined;
}

/** Options of a {@link KeyedTokenBucketFilter}: one limit or several, a clock, and `maxKeys`. */
export type KeyedTokenBucketOptions = (TokenBucketOptions | MultiLimitOptions) & KeyedOptions;

/** What `KeyedTokenBucketFilter.stats()` returns: the counts of all keys together, plus the keys. */
export interface KeyedTokenBucketStats extends TokenBucketStats {
  /** Keys held right now (the same as `size`). */
  readonly keys: number;
  /** Full, idle buckets dropped (they lose nothing: a new bucket for the key is identical). */
  readonly dropped: number;
  /** Buckets evicted by `maxKeys` before they were full: each is a key whose limit may be exceeded. */
  readonly evictions: number;
}

/**
 * KeyedTokenBucketFilter is one token bucket per key (per user, tenant, API key, IP address…), all
 * with the same limits: every key behaves exactly like its own `LazyTokenBucketFilter` created with
 * the keyed bucket (same schedule, FIFO queue, `maxWait`, abort and close rules).
 *
 * Keys may be any value usable as a `Map` key. Memory is bounded by the keys in use, not by the keys
 * ever seen: a key's bucket is created at its first call and dropped once it is full with nobody
 * waiting, because it is then identical to a new one. Dropping costs O(1) amortised per call and no
 * timer: buckets are kept in least-recently-used order, and each call first drops the oldest ones that
 * have been idle long enough to be certainly full (`ceil(capacity / refillTokens) × refillInterval` ms
 * after their last use, the longest over the limits). Reading `size` or `stats()` drops them too. With
 * `initialTokens` below capacity, nothing is dropped until a new bucket would have refilled to full.
 * A key's bucket holds a timer only while callers of that key wait.
 *
 * Under an attack of distinct keys, bound memory with `maxKeys` (see {@link KeyedOptions.maxKeys}).
 *
 * @example
 * const perUser = new KeyedTokenBucketFilter<string>({ capacity: 5, refillTokens: 1, refillInterval: 1000 });
 * if (!perUser.tryGetToken(userId)) reply.status(429).header('Retry-After', Math.ceil(perUser.waitTime(userId) / 1000));
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid; the message names
 * the option and the value.
 */
export class KeyedTokenBucketFilter<K = unknown> implements DisposableLike {
  private readonly buckets = new Map<K, KeyBucket<K>>();
  private readonly owner: KeyBucketOwner<K>;
  private readonly counters = new BucketCounters();
  /** One abort listener per signal for every key's callers. */
  private readonly signals = new SignalWatch();
  /** Where every key reads time: the clock, re-based when it changes under the bucket. */
  private readonly timeline: Timeline;
  private readonly maxKeys: number;
  /** The shared schedules (one per limit), all starting at the same origin. */
  private schedules: readonly RefillSchedule[];
  /** Tokens per limit a new bucket holds at the schedules' origin. */
  private startTokens: readonly number[];
  /** How long (ms) after its last use a bucket with nobody waiting is certainly full. */
  private fillTime = 0;
  /** The smallest capacity of the limits in force. */
  private smallestCapacity = 0;
  /** Clock reading from which a new bucket is full (before it, full buckets are not dropped). */
  private freshFullAt = 0;
  /** The LRU list of buckets nobody waits on: oldest first. */
  private oldest: KeyBucket<K> | undefined = undefined;
  private newest: KeyBucket<K> | undefined = undefined;
  private droppedCount = 0;
  private evictionCount = 0;
  private closed = false;

  /**
   * @param options one limit (`capacity`, `refillTokens`, `refillInterval`, `initialTokens`) or
   * several (`limits: [...]`), and optionally `clock` and `maxKeys`
   */
  constructor(options: KeyedTokenBucketOptions) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`options must be an object, received ${formatValue(options)}`);
    }
    // Own properties only (a polluted prototype changes nothing); the rest are the bucket options.
    const maxKeys = ownOption(options, 'maxKeys');
    const bucketOptions: Record<string, unknown> = { ...options };
    delete bucketOptions['maxKeys'];
    if ((bucketOptions as { kind?: unknown }).kind !== undefined) {
      throw new TypeError(`kind is not an option of a keyed bucket (its keys are lazy buckets)`);
    }
    const resolved = resolveBucketOptions(bucketOptions);
    if (maxKeys !== undefined && (typeof maxKeys !== 'number' || !Number.isSafeInteger(maxKeys) || maxKeys <= 0)) {
      const Class = typeof maxKeys === 'number' ? RangeError : TypeError;
      throw new Class(`maxKeys must be a positive safe integer, received ${formatValue(maxKeys)}`);
    }
    this.maxKeys = maxKeys ?? Number.POSITIVE_INFINITY;
    this.timeline = new Timeline(resolved.clock);
    // When the clock changes under the keyed bucket, every key with callers waiting re-arms its timer.
    this.timeline.onSourceChange = () => {
      for (const bucket of this.buckets.values()) if (!bucket.linked) bucket.clockChanged();
    };
    this.schedules = schedulesFrom(resolved.limits, this.timeline.now());
    this.startTokens = resolved.limits.map((limit) => limit.initialTokens);
    this.planDrops();
    this.owner = {
      bucketIdle: (bucket) => {
        // An invalid reading cannot date the last use: count it as the newest, at the latest valid stamp.
        this.link(bucket, this.timeline.tryNow() ?? this.newest?.lastUse ?? bucket.lastUse);
      },
      bucketBusy: (bucket) => {
        this.unlink(bucket);
      },
    };
  }

  /** The largest count one call may ask for: the capacity (the smallest, with several limits). */
  get capacity(): number {
    return this.smallestCapacity;
  }

  /** The number of keys whose bucket is held right now (0 after `close()`); drops full idle ones first. */
  get size(): number {
    if (!this.closed) this.sweepIfValid();
    return this.buckets.size;
  }

  /**
   * Whole tokens `key` could take right now: its tokens, or 0 while callers of that key are queued or
   * after `close()`. Creates no bucket.
   */
  available(key: K): number {
    if (this.closed) return 0;
    const now = this.timeline.tryNow();
    if (now !== undefined) this.sweep(now);
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) return bucket.available;
    // A key without a bucket holds what a new bucket would, as of the last valid reading.
    return limitStateAt(this.schedules, this.startTokens, now ?? this.timeline.lastReading).tokens;
  }

  /** Callers of `key` waiting right now (0 after `close()`). Creates no bucket. */
  pending(key: K): number {
    if (this.closed) return 0;
    this.sweepIfValid();
    return this.buckets.get(key)?.pending ?? 0;
  }

  /**
   * Waits until `key` can take `count` tokens (default 1), after every caller of that key queued
   * before, and takes them; see `TokenBucketFilter.getToken()`. Callers of other keys never delay it.
   * Rejects (never throws) like it: `RangeError`, `TypeError`, `signal.reason`,
   * `MaxWaitExceededError`, `BucketClosedError`.
   */
  getToken(key: K, count = 1, options?: GetTokenOptions): Promise<void> {
    // Every check comes before the key's bucket is looked up: a refused call creates, touches and
    // evicts no bucket. Nothing here throws; every refusal becomes a rejection.
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      const request = options === undefined ? PLAIN_REQUEST : readGetTokenOptions(options);
      const now = this.timeline.now();
      return this.use(key, now).takeOrWait(count, request, now);
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Takes `count` tokens (default 1) from `key` if they are there and no caller of that key is queued;
   * returns whether it did. Throws `RangeError` for a bad `count` and `BucketClosedError` after
   * `close()`.
   */
  tryGetToken(key: K, count = 1): boolean {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    return this.use(key, now).tryTakeAt(count, now);
  }

  /**
   * Returns the ms until a `getToken(key, count)` made now would be granted, counting the callers of
   * that key queued ahead: 0 if at once. Throws like `tryGetToken()`. Creates no bucket.
   */
  waitTime(key: K, count = 1): number {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    this.sweep(now);
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) return bucket.waitTime(count);
    const fresh = limitStateAt(this.schedules, this.startTokens, now);
    return fresh.tokens >= count ? 0 : msUntil(fresh.grantTime(count), now);
  }

  /**
   * Changes the limits of every key now, as `ReconfigurableTokenBucketFilter.reconfigure()` does for
   * one bucket: each key's tokens carry over (capped), the schedules restart from this call, and each
   * key's queue is re-planned. Costs O(keys held). Throws `TypeError`/`RangeError` on invalid options
   * (changing nothing) and `BucketClosedError` after `close()`.
   */
  reconfigure(options: ReconfigureOptions): void {
    if (this.closed) throw new BucketClosedError();
    const limits = resolveReconfigure(options, this.schedules);
    const now = this.timeline.now();
    this.sweep(now);
    const schedules = schedulesFrom(limits, now);
    // Keys without a bucket stand where a new bucket would: carry that over too.
    const fresh = limitStateAt(this.schedules, this.startTokens, now).tokensByLimit();
    this.startTokens = schedules.map((schedule, i) => Math.min(schedule.capacity, fresh[i] ?? schedule.capacity));
    this.schedules = schedules;
    this.planDrops();
    for (const bucket of [...this.buckets.values()]) {
      bucket.moveTo(schedules, now);
      if (bucket.linked) bucket.lastUse = Math.ceil(now);
    }
  }

  /** Returns the counts of all keys together (see {@link KeyedTokenBucketStats}); never throws. */
  stats(): KeyedTokenBucketStats {
    const keys = this.size;
    return { ...this.counters.snapshot(), keys, dropped: this.droppedCount, evictions: this.evictionCount };
  }

  /**
   * Closes every key's bucket: rejects every queued caller with `BucketClosedError`, stops every timer,
   * forgets every key, and makes later calls fail the same way. Closing twice is harmless.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const buckets = [...this.buckets.values()];
    this.buckets.clear();
    this.oldest = undefined;
    this.newest = undefined;
    for (const bucket of buckets) bucket.close();
  }

  /** Same as `close()`, so `using` closes the keyed bucket. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Returns the bucket of `key` for a call at clock reading `now` (valid) that may take tokens,
   * creating it, and marks it used.
   */
  private use(key: K, now: number): KeyBucket<K> {
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evictOldest(now);
      bucket = new KeyBucket(this.owner, key, {
        limit: limitStateAt(this.schedules, this.startTokens, now),
        timeline: this.timeline,
        counters: this.counters,
        signals: this.signals,
      });
      this.buckets.set(key, bucket);
      this.link(bucket, now);
    } else if (bucket.linked) {
      this.unlink(bucket);
      this.link(bucket, now);
    }
    return bucket;
  }

  /** Drops, oldest first, the idle buckets that are certainly full by `now`. O(1) amortised. */
  private sweep(now: number): void {
    if (now < this.freshFullAt) return;
    let relinked: KeyBucket<K> | undefined;
    for (
      let bucket = this.oldest;
      bucket !== undefined && bucket !== relinked && bucket.lastUse + this.fillTime <= now;
      bucket = this.oldest
    ) {
      this.unlink(bucket);
      if (bucket.isFullAndIdle(now)) {
        this.buckets.delete(bucket.key);
        this.droppedCount += 1;
      } else {
        // Not full after all (the clock went backwards): look again later. The first one relinked ends
        // the sweep when it comes round, so that no sweep ever visits a bucket twice.
        this.link(bucket, now);
        relinked ??= bucket;
      }
    }
  }

  /** {@link sweep} at the clock's reading, unless that reading is invalid (then drops nothing). */
  private sweepIfValid(): void {
    const now = this.timeline.tryNow();
    if (now !== undefined) this.sweep(now);
  }

  /** Makes room for one key under `maxKeys` by evicting the least recently used idle bucket. */
  private evictOldest(now: number): void {
    const bucket = this.oldest;
    if (bucket === undefined) return; // every key held has callers waiting: they are never evicted
    this.unlink(bucket);
    this.buckets.delete(bucket.key);
    if (now >= this.freshFullAt && bucket.isFullAndIdle(now)) this.droppedCount += 1;
    else this.evictionCount += 1;
  }

  /** Computes {@link fillTime}, {@link freshFullAt} and the capacity for the schedules in force. */
  private planDrops(): void {
    let fillTime = 0;
    let freshFullAt = Number.NEGATIVE_INFINITY;
    let capacity = Number.POSITIVE_INFINITY;
    this.schedules.forEach((schedule, i) => {
      capacity = Math.min(capacity, schedule.capacity);
      fillTime = Math.max(fillTime, Math.ceil(schedule.capacity / schedule.refillTokens) * schedule.refillInterval);
      const start = this.startTokens[i] ?? schedule.capacity;
      freshFullAt = Math.max(freshFullAt, stepTime(schedule, stepsUntil(schedule, start, schedule.capacity)));
    });
    this.fillTime = fillTime;
    this.freshFullAt = freshFullAt;
    this.smallestCapacity = capacity;
  }

  /** Appends `bucket` to the LRU list as the newest, last used at `now`. */
  private link(bucket: KeyBucket<K>, now: number): void {
    // Rounded up: a later last use only delays the drop, and a small integer costs no heap number.
    bucket.lastUse = Math.ceil(now);
    bucket.linked = true;
    bucket.lruPrev = this.newest;
    bucket.lruNext = undefined;
    if (this.newest === undefined) this.oldest = bucket;
    else this.newest.lruNext = bucket;
    this.newest = bucket;
  }

  /** Removes `bucket` from the LRU list (it must be linked). */
  private unlink(bucket: KeyBucket<K>): void {
    const { lruPrev, lruNext } = bucket;
    if (lruPrev === undefined) this.oldest = lruNext;
    else lruPrev.lruNext = lruNext;
    if (lruNext === undefined) this.newest = lruPrev;
    else lruNext.lruPrev = lruPrev;
    bucket.lruPrev = undefined;
    bucket.lruNext = undefined;
    bucket.linked = false;
  }
}
