import { peekAvailable, peekWait } from '../core/decide.js';
import type { RefillSchedule } from '../core/refill.js';
import { checkCount } from '../options/requestOptions.js';
import type { TokenBucketStats } from '../types/stats.js';
import type { SharedState } from './SharedState.js';

/**
 * The critical sections that only look, each on a {@link SharedState}: take the lock, read the state,
 * release; nothing is written. They answer `capacity`, `available`, `waitTime()` and `stats()`, and
 * give `reconfigure()` the limits in force. Nothing here reads a clock: the bucket
 * (`SharedTokenBucketFilter.ts`) reads it and passes the instant down.
 */

/** The capacity in force: the largest count one call may ask for (the smallest, with several limits). */
export function capacityOf(state: SharedState): number {
  state.lock();
  state.read();
  state.unlock();
  return state.capacity;
}

/** Every limit's schedule in force (origin included), in order. */
export function schedulesOf(state: SharedState): readonly RefillSchedule[] {
  state.lock();
  const schedules = state.schedules();
  state.unlock();
  return schedules;
}

/** The tokens a `tryGetToken()` could take at clock reading `now` (see `peekAvailable()`). */
export function availableAt(state: SharedState, now: number): number {
  state.lock();
  try {
    return peekAvailable(state.read(), now);
  } finally {
    state.unlock();
  }
}

/**
 * The ms from clock reading `now` until `count` tokens could be granted to a caller that queued then
 * (see `peekWait()`). Throws `RangeError` when `count` is above the capacity in force.
 */
export function waitTimeAt(state: SharedState, now: number, count: number): number {
  state.lock();
  try {
    const tail = state.read();
    if (count > tail.capacity) throw checkCount(count, tail.capacity) as RangeError;
    return peekWait(tail, now, count);
  } finally {
    state.unlock();
  }
}

/** The counters of every thread together, with `pending` (see `SharedBuffer.stats()`). */
export function statsOf(state: SharedState): TokenBucketStats {
  state.lock();
  try {
    return state.stats();
  } finally {
    state.unlock();
  }
}
