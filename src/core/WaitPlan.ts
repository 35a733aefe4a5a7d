import type { Clock } from '../clock.js';
import type { SignalWatch } from './SignalWatch.js';
import type { Waiter } from './WaiterQueue.js';

/**
 * The seam between a bucket's store and its `WaitingRoom`: what the store tells the room (its
 * {@link WaitPlan}, where it reads time, its `maxQueue`), and the room's options.
 */

/**
 * What a bucket tells its `WaitingRoom`: when a waiter is due, and what happens at a grant and
 * after aborts. The room owns the mechanics (order, timer, signals, close); the plan owns the tokens.
 */
export interface WaitPlan<W extends Waiter> {
  /**
   * Returns the clock reading (ms) at which `head`, the first waiter, is due. Called each time the room
   * looks at a head, so it may be computed (the in-process buckets derive it from their live state) or
   * stored on the waiter (a reservation's instant). `Infinity`: not due until told otherwise.
   */
  dueAt(head: W): number;
  /** `head` is due and not aborted: called just before its promise is resolved (take its tokens here). */
  granting(head: W): void;
  /**
   * Waiters left the queue because their signals aborted (or a head was found aborted when due); each
   * has been rejected with its signal's reason. Give back what can be given back and re-plan the rest:
   * the room drains and re-arms right after.
   */
  dropped(dropped: readonly W[]): void;
  /**
   * Optional: whether `head`, due at clock reading `now` and not aborted, may be granted now. False
   * stops the grants there; the plan then makes {@link dueAt} Infinity until it knows, and calls the
   * room's `drain()` and `rearm()` (a Redis bucket that must ask whether a pause voided a reservation).
   */
  readonly ready?: ((head: W, now: number) => boolean) | undefined;
  /** Optional: the head changed (a first waiter, the head granted or dropped, the queue emptied). */
  headChanged?(): void;
}

/** Where a room reads time and sets its timer; a core `Timeline` is one. */
export interface RoomTime {
  /** The clock reading now (ms), or undefined when the clock gives an invalid one. */
  tryNow(): number | undefined;
  /** The clock to set timers on. */
  readonly clock: Clock;
}

/**
 * QueueCap is the `maxQueue` of a bucket: the most callers one instance's room may hold (a
 * non-negative integer, or Infinity). An object, so that the rooms of every key of a keyed bucket share
 * one, and `reconfigure()` changes it for all of them (for the calls made after it).
 */
export interface QueueCap {
  maxQueue: number;
}

/** No cap: the default of a room. */
export const NO_CAP: QueueCap = /* @__PURE__ */ Object.freeze({ maxQueue: Number.POSITIVE_INFINITY });

/** Options of a `WaitingRoom`. */
export interface WaitingRoomOptions {
  /** The most callers the room holds (queued and held); default: no cap. */
  readonly cap?: QueueCap | undefined;
  /** The abort listeners to register with, shared by the keys of a keyed bucket; default: the room's own. */
  readonly signals?: SignalWatch | undefined;
  /** Whether the room sets a timer for its head (default true); false: the bucket calls `drain()` itself. */
  readonly headTimer?: boolean | undefined;
  /** The key of a keyed bucket's room, passed to the observer with each event. */
  readonly key?: unknown;
}
