import { decide, peekWait } from '../core/decide.js';
import { MaxWaitExceededError } from '../errors.js';
import { checkCount } from '../options/requestOptions.js';
import type { SharedState } from './SharedState.js';
import type { SharedWaiter } from './SharedWaiter.js';

/**
 * The critical sections of one call that takes tokens, each on a {@link SharedState}: take the lock,
 * read the state into a `LimitState`, decide with the core (`src/core/decide.ts`) at an explicit clock
 * reading, write the state back, release: `tryGetToken()` ({@link takeNow}) and `getToken()`
 * ({@link reserve}, which reserves a grant to come). Nothing here reads a clock or sets a timer; the
 * bucket (`SharedTokenBucketFilter.ts`) reads the clock once per call and passes the instant down.
 */

/** What {@link reserve} returns when the caller must wait but no waiter was given: nothing was written. */
export const NEEDS_WAITER = Number.NEGATIVE_INFINITY;
/** What {@link reserve} returns when the caller must wait but may not (its thread's queue is full): nothing was written. */
export const QUEUE_FULL = Number.NaN;

/** Knows this thread's queue: asked, under the lock, to re-plan it when another thread reconfigured. */
export interface QueueOwner {
  /** The configuration generation this thread's queue is planned for. */
  readonly generation: number;
  /** Re-plans this thread's queue under the configuration now in force (the lock is held). */
  replanUnderLock(now: number): void;
}

/**
 * What one thread remembers of its last `tryGetToken()` decision: no grant of any count can come before
 * `earliest` (ms) while the state's `earlier` counter still reads `earlier`, and `capacity` holds.
 */
export interface TakeCache {
  earliest: number;
  earlier: number;
  capacity: number;
}

/**
 * `tryGetToken(count)` at clock reading `now`: takes the tokens if they are there and nobody waits.
 * A refusal that `cache` already proves (the next grant comes after `now`, and nothing has moved it
 * earlier since) is counted without the lock; every other call is one decision under it.
 */
export function takeNow(state: SharedState, cache: TakeCache, now: number, count: number): boolean {
  if (now < cache.earliest && count <= cache.capacity && state.earlier === cache.earlier) {
    state.countDeniedUnlocked();
    return false;
  }
  state.lock();
  try {
    const tail = state.read();
    if (count > tail.capacity) throw checkCount(count, tail.capacity) as RangeError;
    if (!Number.isNaN(decide(tail, now, count, 0))) {
      state.write();
      state.countGrant(count);
      cache.earliest = Number.NEGATIVE_INFINITY; // a grant proves nothing about the next refusal
      return true;
    }
    state.countDenied();
    cache.earliest = tail.grantTime(1);
    cache.earlier = state.earlier;
    cache.capacity = tail.capacity;
    return false;
  } finally {
    state.unlock();
  }
}

/**
 * `getToken(count, { maxWait })` at clock reading `now`: returns the grant instant (ms), at or before
 * `now` when granted now. A grant to come is reserved only when `waiter` is given (its `before`,
 * `grantAt`, `sequence` and `generation` are set); without one it returns {@link NEEDS_WAITER} and
 * writes nothing, so that the caller can register the waiter's signal outside the lock and ask again.
 * With `full` (the thread's queue holds `maxQueue` callers) a grant to come is not reserved: it
 * returns {@link QUEUE_FULL}, counted, having written nothing. Throws `RangeError` above the capacity
 * and `MaxWaitExceededError` past `maxWait` (nothing taken).
 */
export function reserve(
  state: SharedState,
  owner: QueueOwner,
  now: number,
  count: number,
  maxWait: number,
  waiter: SharedWaiter | undefined,
  full = false,
): number {
  state.lock();
  try {
    if (state.generation !== owner.generation) owner.replanUnderLock(now);
    const tail = state.read();
    if (count > tail.capacity) throw checkCount(count, tail.capacity) as RangeError;
    tail.advance(now);
    const idle = tail.grantTime(0) <= now; // nobody queued in any thread
    // A full queue takes no waiter: the one decision with no wait, refused as queue-full (before maxWait).
    const at = decide(tail, now, count, full ? 0 : maxWait);
    if (Number.isNaN(at) && full) {
      state.countQueueFull();
      return QUEUE_FULL;
    }
    if (Number.isNaN(at)) {
      state.count('maxWaitExceeded');
      throw new MaxWaitExceededError(peekWait(tail, now, count), maxWait);
    }
    if (at <= now) {
      state.write();
      state.countGrant(count);
      return at;
    }
    if (waiter === undefined) return NEEDS_WAITER;
    waiter.before = state.stored();
    waiter.grantAt = at;
    waiter.sequence = state.write();
    waiter.generation = state.generation;
    state.chainReserved = (idle ? 0 : state.chainReserved) + count;
    return at;
  } finally {
    state.unlock();
  }
}
