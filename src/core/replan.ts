import { MaxWaitExceededError } from '../errors.js';
import type { RefusalReason } from '../types/observer.js';
import type { BucketCounters } from './counters.js';
import type { LimitState } from './limits.js';
import type { Room } from './Room.js';
import type { Waiter } from './WaiterQueue.js';

/**
 * Re-plans the waiters of `room`, in queue order, under new limits whose state `projected` is (just
 * put in force, now): a waiter above the new capacity is refused with a `RangeError`, one whose new
 * grant instant breaks its `maxWait` (counted from its call) with `MaxWaitExceededError`, and the
 * rest keep their places, each reserved in turn on `projected`, which ends at the tail of the queue.
 * Refusals are counted in `counters` (`overCapacity`, `maxWaitExceeded`), and returned (the count
 * each asked for, and the counter) for the bucket to tell its observer once it is consistent again.
 */
export function replanWaiters<W extends Waiter>(
  room: Room<W>,
  projected: LimitState,
  counters: BucketCounters,
): Array<readonly [count: number, reason: RefusalReason]> {
  const refused: Array<readonly [number, RefusalReason]> = [];
  for (const waiter of [...room]) {
    let refusal: Error | undefined;
    const count = waiter.count;
    if (count > projected.capacity) {
      refusal = new RangeError(`count must not exceed the new capacity (${projected.capacity}), received ${count}`);
      counters.overCapacity += 1;
      refused.push([count, 'overCapacity']);
    } else {
      const grantAt = projected.grantTime(count);
      const extras = waiter.extras;
      if (extras !== undefined && grantAt - extras.calledAt > extras.maxWait) {
        refusal = new MaxWaitExceededError(grantAt - extras.calledAt, extras.maxWait);
        counters.maxWaitExceeded += 1;
        refused.push([count, 'maxWaitExceeded']);
      } else {
        projected.grantNext(count);
      }
    }
    if (refusal !== undefined) room.refuse(waiter, refusal);
  }
  return refused;
}
