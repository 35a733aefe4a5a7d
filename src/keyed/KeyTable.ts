// The table of a keyed bucket's keys: their buckets, the limits they share, and the least-recently-used
// rules for dropping and evicting them.
import { schedulesFrom } from '../core/bucketInit.js';
import { limitStateAt, type LimitState } from '../core/limits.js';
import { stepTime, stepsUntil, type RefillSchedule } from '../core/refill.js';
import type { ResolvedLimit } from '../options/bucketOptions.js';
import type { KeyBucket } from './KeyBucket.js';

/**
 * How a {@link KeyTable} gets the bucket of a key at its first use: from the keyed bucket, which holds
 * what every key's bucket shares (clock, counters, `maxQueue`, abort listeners).
 */
export interface KeyBucketMaker<K> {
  /** Returns a new bucket for `key` whose limits are `limit` (a new bucket's, at the call's reading). */
  makeBucket(key: K, limit: LimitState): KeyBucket<K>;
}

/**
 * KeyTable holds the buckets of a keyed bucket's keys: a `Map` from key to bucket, the limits every
 * key shares (from which it creates a key's bucket at its first use), and a least-recently-used list
 * of the buckets nobody waits on, with the rules for dropping them (a full, idle bucket is identical
 * to a new one, so dropping it loses nothing) and for evicting one under `maxKeys` (which may lose
 * spent tokens: counted apart). Sweeping costs O(1) amortised per call and no timer. Internal: not
 * exported from the package.
 */
export class KeyTable<K> {
  /** Every key's bucket. */
  readonly buckets = new Map<K, KeyBucket<K>>();
  /** Full idle buckets dropped, and buckets evicted before they were full. */
  dropped = 0;
  evictions = 0;
  /** The smallest capacity of the limits in force. */
  capacity = 0;
  /** The shared schedules (one per limit), all starting at the same origin (set by {@link plan}). */
  schedules!: readonly RefillSchedule[];
  /** Tokens per limit a new bucket holds at the schedules' origin (set by {@link plan}). */
  private startTokens!: readonly number[];
  /** How long (ms) after its last use a bucket with nobody waiting is certainly full. */
  private fillTime = 0;
  /** Clock reading from which a new bucket is full (before it, full buckets are not dropped). */
  private freshFullAt = 0;
  /** The LRU list of buckets nobody waits on: oldest first. */
  private oldest: KeyBucket<K> | undefined = undefined;
  private newest: KeyBucket<K> | undefined = undefined;

  /**
   * @param maxKeys most keys held at once (a positive safe integer, or Infinity)
   * @param maker makes the bucket of a key at its first use
   * @param schedules the limits in force, and `startTokens` what a new bucket holds; see {@link plan}
   */
  constructor(
    private readonly maxKeys: number,
    private readonly maker: KeyBucketMaker<K>,
    schedules: readonly RefillSchedule[],
    startTokens: readonly number[],
  ) {
    this.plan(schedules, startTokens);
  }

  /** The last use (ms) of the most recently used idle bucket, if any. */
  get newestUse(): number | undefined {
    return this.newest?.lastUse;
  }

  /**
   * Puts in force for new buckets, and plans drops for, the limits `schedules` (one per limit, sharing
   * an origin) and the tokens `startTokens` a new bucket holds at that origin. Sets {@link capacity}.
   */
  plan(schedules: readonly RefillSchedule[], startTokens: readonly number[]): void {
    this.schedules = schedules;
    this.startTokens = startTokens;
    let fillTime = 0;
    let freshFullAt = Number.NEGATIVE_INFINITY;
    let capacity = Number.POSITIVE_INFINITY;
    schedules.forEach((schedule, i) => {
      capacity = Math.min(capacity, schedule.capacity);
      fillTime = Math.max(fillTime, Math.ceil(schedule.capacity / schedule.refillTokens) * schedule.refillInterval);
      const start = startTokens[i] ?? schedule.capacity;
      freshFullAt = Math.max(freshFullAt, stepTime(schedule, stepsUntil(schedule, start, schedule.capacity)));
    });
    this.fillTime = fillTime;
    this.freshFullAt = freshFullAt;
    this.capacity = capacity;
  }

  /** Returns the limits of a key without a bucket at clock reading `at`: those of a new bucket. */
  fresh(at: number): LimitState {
    return limitStateAt(this.schedules, this.startTokens, at);
  }

  /**
   * Returns the bucket of `key` for a call at clock reading `now` (valid) that may take tokens,
   * creating it, and marks it used.
   */
  use(key: K, now: number): KeyBucket<K> {
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.makeRoom(now);
      bucket = this.maker.makeBucket(key, this.fresh(now));
      this.buckets.set(key, bucket);
      this.link(bucket, now);
    } else if (bucket.linked) {
      this.unlink(bucket);
      this.link(bucket, now);
    }
    return bucket;
  }

  /**
   * Puts `limits` in force for every key at clock reading `now` (valid), their schedules starting then:
   * each bucket's tokens carry over (capped), and so do those of keys without a bucket (they stand
   * where a new bucket would). See `KeyedTokenBucketFilter.reconfigure()`.
   */
  moveAll(limits: readonly ResolvedLimit[], now: number): void {
    this.sweep(now);
    const schedules = schedulesFrom(limits, now);
    // Keys without a bucket stand where a new bucket would: carry that over too.
    const fresh = this.fresh(now).tokensByLimit();
    this.plan(
      schedules,
      schedules.map((schedule, i) => Math.min(schedule.capacity, fresh[i] ?? schedule.capacity)),
    );
    for (const bucket of [...this.buckets.values()]) {
      bucket.moveTo(schedules, now);
      if (bucket.linked) bucket.lastUse = Math.ceil(now);
    }
  }

  /** Drops, oldest first, the idle buckets that are certainly full by clock reading `now`. O(1) amortised. */
  sweep(now: number): void {
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
        this.dropped += 1;
      } else {
        // Not full after all (the clock went backwards): look again later. The first one relinked ends
        // the sweep when it comes round, so that no sweep ever visits a bucket twice.
        this.link(bucket, now);
        relinked ??= bucket;
      }
    }
  }

  /**
   * Makes room for one more key under `maxKeys`, at clock reading `now`, by evicting the least recently
   * used idle bucket. Keys with callers waiting are never evicted (they may push the size above it).
   */
  makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    const bucket = this.oldest;
    if (bucket === undefined) return; // every key held has callers waiting
    this.unlink(bucket);
    this.buckets.delete(bucket.key);
    if (now >= this.freshFullAt && bucket.isFullAndIdle(now)) this.dropped += 1;
    else this.evictions += 1;
  }

  /** Appends `bucket` to the LRU list as the newest, last used at clock reading `now`. */
  link(bucket: KeyBucket<K>, now: number): void {
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
  unlink(bucket: KeyBucket<K>): void {
    const { lruPrev, lruNext } = bucket;
    if (lruPrev === undefined) this.oldest = lruNext;
    else lruPrev.lruNext = lruNext;
    if (lruNext === undefined) this.newest = lruPrev;
    else lruNext.lruPrev = lruPrev;
    bucket.lruPrev = undefined;
    bucket.lruNext = undefined;
    bucket.linked = false;
  }

  /** Forgets every key and returns their buckets (for `close()`). */
  clear(): KeyBucket<K>[] {
    const buckets = [...this.buckets.values()];
    this.buckets.clear();
    this.oldest = undefined;
    this.newest = undefined;
    return buckets;
  }
}
