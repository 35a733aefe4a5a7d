import { abortReason } from '../options/requestOptions.js';
import type { AbortSignalLike } from '../types/platform.js';
import type { Waiter, WaiterExtras } from './WaiterQueue.js';

/** What holds a watched waiter in its queue: a bucket, told when the waiter's signal aborts. */
export interface AbortOwner {
  /** Removes `waiter` (queued, with a signal) from the queue and rejects it with `reason`. */
  dropAborted(waiter: Waiter, reason: unknown): void;
  /** Called once after every aborted waiter of this owner was dropped: let the callers behind move up. */
  afterAborts(): void;
}

/** The callers waiting on one signal, and the one listener added to it. */
interface Watched {
  readonly listener: () => void;
  readonly waiters: Set<Waiter>;
}

/**
 * SignalWatch listens for the aborts of the signals passed to `getToken()`: one listener per signal,
 * however many queued callers (of one bucket, or of every key of a keyed bucket) share it, so a
 * long-lived signal never collects listeners (nor triggers Node's MaxListenersExceededWarning) and is
 * left with none once its callers settle.
 *
 * Each listener is a closure over the signal it was added to, so an abort is matched to the object
 * the caller passed, not to `event.target`: a signal wrapped in a `Proxy` or a delegating object
 * aborts its callers too.
 */
export class SignalWatch {
  private readonly watched = new Map<AbortSignalLike, Watched>();

  /**
   * Watches `signal` for `waiter`, whose `extras.owner` is told when it aborts. Throws what the
   * signal's `addEventListener` throws, having registered nothing.
   */
  watch(waiter: Waiter, signal: AbortSignalLike): void {
    const watched = this.watched.get(signal);
    if (watched !== undefined) {
      watched.waiters.add(waiter);
      return;
    }
    const listener = (): void => {
      this.abort(signal);
    };
    signal.addEventListener('abort', listener);
    this.watched.set(signal, { listener, waiters: new Set([waiter]) });
  }

  /** Stops watching for `waiter` (granted, refused or closed); the last one removes the listener. */
  forget(waiter: Waiter): void {
    const signal = waiter.extras?.signal;
    if (signal === undefined) return;
    const watched = this.watched.get(signal);
    if (watched?.waiters.delete(waiter) === true && watched.waiters.size === 0) this.unwatch(signal, watched);
  }

  /** Rejects every waiter of `signal` with its reason, in queue order per owner, then lets each owner move up. */
  private abort(signal: AbortSignalLike): void {
    const watched = this.watched.get(signal);
    if (watched === undefined) return;
    this.unwatch(signal, watched);
    let reason: unknown;
    try {
      reason = abortReason(signal);
    } catch (error) {
      reason = error; // a signal-like whose reason getter throws: its callers reject with that
    }
    const owners = new Set<AbortOwner>();
    for (const waiter of watched.waiters) {
      // Only a waiter with extras (its signal among them) is ever watched.
      const owner = (waiter.extras as WaiterExtras).owner;
      owner.dropAborted(waiter, reason);
      owners.add(owner);
    }
    for (const owner of owners) owner.afterAborts();
  }

  private unwatch(signal: AbortSignalLike, watched: Watched): void {
    this.watched.delete(signal);
    try {
      signal.removeEventListener('abort', watched.listener);
    } catch {
      // A signal-like whose removeEventListener throws keeps a listener that finds nothing to abort.
    }
  }
}

/**
 * Returns `{ reason }` when `signal` reports itself aborted (with {@link abortReason}, or what its
 * getters threw), else undefined. A bucket asks before it grants a caller that has a signal: two
 * signal objects for one abort (a signal and a `Proxy` of it) fire their listeners one after the
 * other, and the first listener's re-plan must not grant a caller whose own listener has not run yet.
 */
export function pendingAbort(signal: AbortSignalLike): { reason: unknown } | undefined {
  try {
    return signal.aborted ? { reason: abortReason(signal) } : undefined;
  } catch (error) {
    return { reason: error };
  }
}
