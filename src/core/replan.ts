import { MaxWaitExceededError } from '../errors.js';
import type { BucketCounters } from './counters.js';
import type { LimitState } from './limits.js';
import type { WaitingRoom } from './WaitingRoom.js';
import type { Waiter } from './WaiterQueue.js';

/**
 * Re-plans the waiters of `room`, in queue order, under new limits whose state `projected` is (just
 * put in force, now): a waiter above the new capacity is refused with a `RangeError`, one whose new
 * grant instant breaks its `maxWait` (counted from its call) with `MaxWaitExceededError`, and the
 * rest keep their places, each reserved in turn on `projected`, which ends at the tail of the queue.
 * Refusals are counted in `counters` (`overCapacity`, `maxWaitExceeded`).
 */
export function replanWaiters<W extends Waiter>(
  room: WaitingRoom<W>,
  projected: LimitState,
  counters: BucketCounters,
): void {
  for (const waiter of [...room]) {
    let refusal: Error | undefined;
    if (waiter.count > projected.capacity) {
      refusal = new RangeError(
        `count must not exceed the new capacity (${projected.capacity}), received ${waiter.count}`,
      );
      counters.overCapacity += 1;
    } else {
      const grantAt = projected.grantTime(waiter.count);
      const extras = waiter.extras;
      if (extras !== undefined && grantAt - extras.calledAt > extras.maxWait) {
        refusal = new MaxWaitExceededError(grantAt - extras.calledAt, extras.maxWait);
        counters.maxWaitExceeded += 1;
      } else {
        projected.grantNext(waiter.count);
      }
    }
    if (refusal !== undefined) room.refuse(waiter, refusal);
  }
}
