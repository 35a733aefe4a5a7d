import { BucketBase } from '../core/BucketBase.js';
import type { BucketInit } from '../core/bucketInit.js';
import type { RefillSchedule } from '../core/refill.js';

/** What a {@link KeyBucket} tells the keyed bucket that holds it. */
export interface KeyBucketOwner<K> {
  /** The bucket's queue emptied: it may be dropped once full (it goes back on the LRU list). */
  bucketIdle(bucket: KeyBucket<K>): void;
  /** The bucket got a first waiter: it must not be dropped or evicted until its queue empties. */
  bucketBusy(bucket: KeyBucket<K>): void;
}

/**
 * KeyBucket is the bucket of one key of a `KeyedTokenBucketFilter`: a lazy bucket (one head timer,
 * only while someone waits) whose schedules are shared with every other key, and which is linked into
 * its owner's least-recently-used list while nobody waits. Internal: not exported from the package.
 */
export class KeyBucket<K> extends BucketBase {
  /** Neighbours in the owner's LRU list (older, newer); both undefined when not linked. */
  lruPrev: KeyBucket<K> | undefined = undefined;
  lruNext: KeyBucket<K> | undefined = undefined;
  /** Whether the bucket is in the owner's LRU list (it is, exactly while nobody waits). */
  linked = false;
  /** Clock reading (ms) of the last call that could have taken tokens, or of the queue emptying. */
  lastUse = 0;

  /**
   * @param owner the keyed bucket that holds this one
   * @param key the key, for removing it from the owner's map
   * @param init the shared clock and counters, and the key's limit state at creation
   */
  constructor(
    private readonly owner: KeyBucketOwner<K>,
    readonly key: K,
    init: BucketInit,
  ) {
    super(init);
  }

  /**
   * Returns whether the bucket is, at clock reading `now`, indistinguishable from a new one: nobody
   * waits and every limit is full. (The owner also checks that a new bucket would be full.)
   */
  isFullAndIdle(now: number): boolean {
    this.sync(now);
    return this.room.length === 0 && this.limit.full;
  }

  /** Tokens held per limit right now (after syncing to `now`), in the order of the limits. */
  tokensAt(now: number): number[] {
    this.sync(now);
    return this.limit.tokensByLimit();
  }

  /** Puts shared `schedules` (starting at `now`) in force, carrying tokens; see `reconfigure()`. */
  moveTo(schedules: readonly RefillSchedule[], now: number): void {
    this.applySchedules(schedules, now);
  }

  /** Keeps the owner's LRU list true: a bucket is in it exactly while nobody waits. */
  protected override headChanged(): void {
    if (this.room.length === 0) {
      if (!this.linked) this.owner.bucketIdle(this);
    } else if (this.linked) {
      this.owner.bucketBusy(this);
    }
  }

  /** The keyed bucket tells the observer of its close once, for every key. */
  protected override reportClose(): void {}

  // The head's one timer is the waiting room's: nothing else to stop.
  protected stopTimers(): void {}
}
