import { deferred } from '../core/deferred.js';
import { WaiterExtras } from '../core/WaiterQueue.js';
import { MaxWaitExceededError } from '../errors.js';
import type { GetTokenRequest } from '../options/requestOptions.js';
import type { SharedThread } from './SharedThread.js';
import { SharedWaiter } from './SharedWaiter.js';
import { NEEDS_WAITER, reserve } from './takeOrReserve.js';

const GRANTED: Promise<void> = Promise.resolve();

/**
 * `getToken()` in one thread of a shared bucket ({@link SharedThread}) at clock reading `now`, once the
 * bucket is open and `count` and the options valid: takes the tokens now, or reserves them at the
 * instant of their grant and waits in the thread's room (unless its queue is full). Throws (the caller
 * rejects with it) `RangeError`, `QueueFullError`, `MaxWaitExceededError`, or what the signal's
 * `addEventListener` throws, having reserved nothing.
 */
export function getTokenAt(thread: SharedThread, count: number, request: GetTokenRequest, now: number): Promise<void> {
  const events = thread.events;
  const room = thread.room;
  const { signal, maxWait } = request;
  // Asked once, before the decision: a full queue makes it the decision with no wait.
  const full = room.full;
  let waiter: SharedWaiter | undefined;
  let promise: Promise<void> | undefined;
  for (;;) {
    let at: number;
    try {
      at = reserve(thread.state, thread, now, count, maxWait ?? Number.POSITIVE_INFINITY, waiter, full);
    } catch (refusal) {
      if (waiter !== undefined) room.unwatch(waiter);
      if (refusal instanceof MaxWaitExceededError) events?.refused(count, 'maxWaitExceeded', undefined);
      throw refusal;
    } finally {
      thread.settle();
    }
    // QUEUE_FULL (NaN): refused and counted in shared memory; no waiter was made.
    if (Number.isNaN(at)) throw room.queueFull(count);
    if (at === NEEDS_WAITER) {
      // Created and watched outside the lock (addEventListener is the caller's code), then asked again.
      const settle = deferred();
      promise = settle.promise;
      // An observed instance's waiters keep the instant of their call too, for the wait it reports.
      const extras =
        signal === undefined && maxWait === undefined && events === undefined
          ? undefined
          : new WaiterExtras(settle.reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, room);
      waiter = new SharedWaiter(count, Number.POSITIVE_INFINITY, settle.resolve, extras);
      room.watch(waiter); // throws what addEventListener throws, with nothing reserved
      continue;
    }
    if (at <= now || waiter === undefined || promise === undefined) {
      if (waiter !== undefined) room.unwatch(waiter);
      events?.granted(count, 0, undefined);
      return GRANTED;
    }
    thread.state.addPending(1);
    room.push(waiter);
    return promise;
  }
}
