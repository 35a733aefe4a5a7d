import { Room, waitedSince } from './Room.js';
import type { Waiter } from './WaiterQueue.js';

export type { QueueCap, RoomTime, WaitingRoomOptions, WaitPlan } from './WaitPlan.js';

/**
 * WaitingRoom is the {@link Room} of the shared and Redis buckets: a room whose callers may also be
 * *held*, pending but not queued, such as a Redis call whose reply has not come. A held caller counts
 * in `length`, is rejected by `close()`, and its abort is delivered like a queued one's; the bucket
 * {@link release}s it when its fate is known. The in-process buckets never hold a caller, so they
 * use a plain {@link Room} and do not ship these methods.
 */
export class WaitingRoom<W extends Waiter> extends Room<W> {
  /** Callers in the queue (held ones not counted). */
  get queued(): number {
    return this.queue.length;
  }

  /** Holds `waiter` as pending but not queued (its instant is not known yet). */
  hold(waiter: W): void {
    (this.held ??= new Set()).add(waiter);
    this.count += 1;
    this.counters.queued += 1;
  }

  /**
   * Stops holding `waiter`: returns whether it was held (false once it was aborted or closed). Then
   * {@link push} it, or settle it through {@link grantHeld} or {@link refuse}.
   */
  release(waiter: W): boolean {
    if (this.held?.delete(waiter) !== true) return false;
    this.count -= 1;
    this.counters.queued -= 1;
    return true;
  }

  /** Resolves `waiter`, which the bucket has just released or never queued, and forgets its signal. */
  grantHeld(waiter: W): void {
    this.forget(waiter);
    waiter.resolve();
  }

  /**
   * Tells the observer that `waiter`, just resolved, got its tokens at clock reading `now` (ms): a
   * store that grants a held waiter calls it; the room does for the waiters it grants.
   */
  grantedAt(waiter: W, now: number | undefined): void {
    this.counters.events?.granted(waiter.count, waitedSince(waiter, now), this.key);
  }
}
