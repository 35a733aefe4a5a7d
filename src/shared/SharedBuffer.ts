import type { TokenBucketStats } from '../types/stats.js';
import {
  CLOSED,
  COUNTER_NAMES,
  COUNTERS,
  DENIED_UNLOCKED,
  EARLIER,
  LOCK,
  PENDING,
  QUEUE_FULL,
  type CounterName,
} from './layout.js';
import { lock, unlock } from './lock.js';

/**
 * SharedBuffer is one thread's view of a shared bucket's `SharedArrayBuffer` (see `layout.ts`): its
 * lock, the words read atomically without it ({@link closed}, {@link pending}, {@link earlier}), and
 * the counters behind `stats()`, which every thread adds to. {@link SharedLimits} adds the limits.
 *
 * The counters are plain Float64 words, added to only while the lock is held; {@link stats} too reads
 * them under the lock. The one exception, `tryGetToken()` refusals proved without the lock, is counted
 * atomically in an `Int32` word of its own and folded in before it could overflow.
 */
export class SharedBuffer {
  readonly words: Int32Array;
  readonly floats: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.floats = new Float64Array(buffer);
  }

  /** Takes the lock, waiting for another thread to release it. */
  lock(): void {
    lock(this.words, LOCK);
  }

  /** Releases the lock. */
  unlock(): void {
    unlock(this.words, LOCK);
  }

  /** Whether any thread has closed the bucket (an atomic read; no lock needed). */
  get closed(): boolean {
    return Atomics.load(this.words, CLOSED) !== 0;
  }

  /** Callers waiting in every thread (an atomic read; no lock needed). */
  get pending(): number {
    return Atomics.load(this.words, PENDING);
  }

  /** Adds `by` to the callers waiting in every thread (atomic; no lock needed). */
  addPending(by: number): void {
    Atomics.add(this.words, PENDING, by);
  }

  /** Adds `by` to the shared counter `name` of `stats()` (lock held). */
  count(name: CounterName, by = 1): void {
    const index = COUNTERS + COUNTER_NAMES.indexOf(name);
    this.floats[index] = (this.floats[index] as number) + by;
  }

  /** Adds one grant of `tokens` tokens to the counters (lock held; the hot path: no name lookup). */
  countGrant(tokens: number): void {
    const floats = this.floats;
    floats[COUNTERS] = (floats[COUNTERS] as number) + tokens;
    floats[COUNTERS + 1] = (floats[COUNTERS + 1] as number) + 1;
  }

  /** Adds one refused `tryGetToken()` to the counters (lock held). */
  countDenied(): void {
    this.floats[COUNTERS + 2] = (this.floats[COUNTERS + 2] as number) + 1;
  }

  /** Adds one call refused by a thread's `maxQueue` to the counters (lock held). */
  countQueueFull(): void {
    this.floats[QUEUE_FULL] = (this.floats[QUEUE_FULL] as number) + 1;
  }

  /** How often the earliest grant has moved earlier (see `EARLIER` in `layout.ts`; atomic, no lock needed). */
  get earlier(): number {
    return Atomics.load(this.words, EARLIER);
  }

  /** Counts one refused `tryGetToken()` without the lock (atomic); folds the count in before it can overflow. */
  countDeniedUnlocked(): void {
    if (Atomics.add(this.words, DENIED_UNLOCKED, 1) < 2 ** 30) return;
    this.lock();
    this.count('denied', Atomics.exchange(this.words, DENIED_UNLOCKED, 0));
    this.unlock();
  }

  /** Returns the counters of every thread, with `pending` (0 once closed); lock held. */
  stats(): TokenBucketStats {
    const value = (name: CounterName): number => this.floats[COUNTERS + COUNTER_NAMES.indexOf(name)] as number;
    return {
      tokensGranted: value('tokensGranted'),
      granted: value('granted'),
      denied: value('denied') + Atomics.load(this.words, DENIED_UNLOCKED),
      maxWaitExceeded: value('maxWaitExceeded'),
      queueFull: this.floats[QUEUE_FULL] as number,
      aborted: value('aborted'),
      closed: value('closed'),
      overCapacity: value('overCapacity'),
      pending: this.closed ? 0 : this.pending,
    };
  }
}
