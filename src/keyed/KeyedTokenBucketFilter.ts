/**
 * The keyed bucket's public class: one token bucket per key, behind the same contract as a bucket of
 * its own. It reads its options, checks each call's arguments and the closed state, and reads the
 * clock; `KeyTable` holds the keys' buckets and the limits they share.
 */
import { schedulesFrom } from '../core/bucketInit.js';
import { BucketCounters } from '../core/counters.js';
import { peekAvailable, peekWait } from '../core/decide.js';
import { SignalWatch } from '../core/SignalWatch.js';
import { Timeline } from '../core/Timeline.js';
import type { QueueCap } from '../core/WaitingRoom.js';
import { BucketClosedError } from '../errors.js';
import { resolveBucketOptions, resolveReconfigure } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import { checkCount, checkPauseMs, PLAIN_REQUEST, readGetTokenOptions } from '../options/requestOptions.js';
import type { GetTokenOptions, ReconfigureOptions } from '../types/options.js';
import type { DisposableLike } from '../types/platform.js';
import { KeyBucket, type KeyBucketOwner } from './KeyBucket.js';
import type { KeyedTokenBucketOptions, KeyedTokenBucketStats } from './keyedTypes.js';
import { KeyTable, type KeyBucketMaker } from './KeyTable.js';

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
  /** The keys' buckets and the limits they share, and which of them may be dropped or evicted. */
  private readonly table: KeyTable<K>;
  private readonly counters: BucketCounters;
  /** `maxQueue`, for the queue of each key. */
  private readonly cap: QueueCap;
  /** Where every key reads time: the clock, re-based when it changes under the bucket. */
  private readonly timeline: Timeline;
  private closed = false;

  /**
   * @param options one limit (`capacity`, `refillTokens`, `refillInterval`, `initialTokens`) or
   * several (`limits: [...]`), and optionally `clock` and `maxKeys`
   */
  constructor(options: KeyedTokenBucketOptions<K>) {
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
    this.cap = { maxQueue: resolved.maxQueue };
    this.counters = new BucketCounters(resolved.events);
    this.timeline = new Timeline(resolved.clock);
    // One abort listener per signal for every key's callers.
    const signals = new SignalWatch();
    // Told by each key's bucket when its queue empties or fills; asked by the table for a new key's bucket.
    const owner: KeyBucketOwner<K> & KeyBucketMaker<K> = {
      bucketIdle: (bucket) => {
        // An invalid reading cannot date the last use: count it as the newest, at the latest valid stamp.
        this.table.link(bucket, this.timeline.tryNow() ?? this.table.newestUse ?? bucket.lastUse);
      },
      bucketBusy: (bucket) => {
        this.table.unlink(bucket);
      },
      makeBucket: (key, limit) =>
        new KeyBucket(owner, key, {
          limit,
          timeline: this.timeline,
          counters: this.counters,
          cap: this.cap,
          signals,
          key,
        }),
    };
    this.table = new KeyTable<K>(
      maxKeys ?? Number.POSITIVE_INFINITY,
      owner,
      schedulesFrom(resolved.limits, this.timeline.now()),
      resolved.limits.map((limit) => limit.initialTokens),
    );
    // When the clock changes under the keyed bucket, every key with callers waiting re-arms its timer.
    this.timeline.onSourceChange = () => {
      for (const bucket of this.table.buckets.values()) if (!bucket.linked) bucket.clockChanged();
    };
  }

  /** The largest count one call may ask for: the capacity (the smallest, with several limits). */
  get capacity(): number {
    return this.table.capacity;
  }

  /** The number of keys whose bucket is held right now (0 after `close()`); drops full idle ones first. */
  get size(): number {
    if (!this.closed) this.sweepIfValid();
    return this.table.buckets.size;
  }

  /**
   * Whole tokens `key` could take right now: its tokens, or 0 while callers of that key are queued or
   * after `close()`. Creates no bucket.
   */
  available(key: K): number {
    if (this.closed) return 0;
    const now = this.timeline.tryNow();
    if (now !== undefined) this.table.sweep(now);
    const bucket = this.table.buckets.get(key);
    if (bucket !== undefined) return bucket.available;
    // A key without a bucket holds what a new bucket would, as of the last valid reading.
    const at = now ?? this.timeline.lastReading;
    return peekAvailable(this.table.fresh(at), at);
  }

  /** Callers of `key` waiting right now (0 after `close()`). Creates no bucket. */
  pending(key: K): number {
    if (this.closed) return 0;
    this.sweepIfValid();
    return this.table.buckets.get(key)?.pending ?? 0;
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
      return this.table.use(key, now).takeOrWait(count, request, now);
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
    return this.table.use(key, now).tryTakeAt(count, now);
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
    this.table.sweep(now);
    const bucket = this.table.buckets.get(key);
    if (bucket !== undefined) return bucket.waitTime(count);
    return peekWait(this.table.fresh(now), now, count);
  }

  /**
   * Grants nothing to `key` for `ms` ms from now, as `ReconfigurableTokenBucketFilter.pause()` does
   * for one bucket (at the end the key holds at most `refillTokens` of each limit); other keys are not
   * affected. Creates the key's bucket if it has none. A paused key is held until its pause has ended,
   * unless `maxKeys` evicts it as the least recently used, which forgets the pause as it forgets any
   * evicted key's tokens. Throws `TypeError`/`RangeError` for a bad `ms` (changing nothing) and
   * `BucketClosedError` after `close()`.
   *
   * @example
   * if (response.status === 429) keyed.pause(tenant, Number(response.headers.get('retry-after')) * 1000);
   */
  pause(key: K, ms: number): void {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkPauseMs(ms);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    this.table.use(key, now).pauseAt(now, now + ms);
  }

  /**
   * Changes the limits of every key now, as `ReconfigurableTokenBucketFilter.reconfigure()` does for
   * one bucket: each key's tokens carry over (capped), the schedules restart from this call, and each
   * key's queue is re-planned. Costs O(keys held). `maxQueue` changes the cap of every key's queue for
   * the calls made after it (O(1); alone, it leaves the limits untouched). Throws
   * `TypeError`/`RangeError` on invalid options (changing nothing) and `BucketClosedError` after
   * `close()`.
   */
  reconfigure(options: ReconfigureOptions): void {
    if (this.closed) throw new BucketClosedError();
    const { limits, maxQueue } = resolveReconfigure(options, this.table.schedules);
    if (limits !== undefined) this.table.moveAll(limits, this.timeline.now());
    if (maxQueue !== undefined) this.cap.maxQueue = maxQueue; // for later calls: queued callers stay
  }

  /** Returns the counts of all keys together (see {@link KeyedTokenBucketStats}); never throws. */
  stats(): KeyedTokenBucketStats {
    const keys = this.size;
    return { ...this.counters.snapshot(), keys, dropped: this.table.dropped, evictions: this.table.evictions };
  }

  /**
   * Closes every key's bucket: rejects every queued caller with `BucketClosedError`, stops every timer,
   * forgets every key, and makes later calls fail the same way. Closing twice is harmless.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const counters = this.counters;
    const before = counters.closed;
    for (const bucket of this.table.clear()) bucket.close();
    counters.events?.closed(counters.closed - before);
  }

  /** Same as `close()`, so `using` closes the keyed bucket. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Drops full idle buckets at the clock's reading, unless that reading is invalid (then drops nothing). */
  private sweepIfValid(): void {
    const now = this.timeline.tryNow();
    if (now !== undefined) this.table.sweep(now);
  }
}
