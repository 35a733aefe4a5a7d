import { ClockRetry, ClockTimer, type Clock } from '../clock.js';
import type { BucketCounters } from './counters.js';
import { pendingAbort, SignalWatch, type AbortOwner } from './SignalWatch.js';
import { rejectWaiter, WaiterQueue, type Waiter } from './WaiterQueue.js';

/**
 * What a bucket tells its {@link WaitingRoom}: when a waiter is due, and what happens at a grant and
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

/** Options of a {@link WaitingRoom}. */
export interface WaitingRoomOptions {
  /** The abort listeners to register with, shared by the keys of a keyed bucket; default: the room's own. */
  readonly signals?: SignalWatch | undefined;
  /** Whether the room sets a timer for its head (default true); false: the bucket calls `drain()` itself. */
  readonly headTimer?: boolean | undefined;
}

/**
 * WaitingRoom holds one bucket instance's waiting callers, whatever the bucket stores its tokens in:
 * a strict FIFO with O(1) push, grant and remove ({@link WaiterQueue}), one timer for the head at most
 * (paced by {@link ClockRetry} while the clock gives invalid readings), one abort listener per signal
 * however many callers share it ({@link SignalWatch}), and a `close()` that rejects every caller. Every
 * bucket waits through it: the in-process ones, the shared one, and the Redis ones. What differs
 * between them is only their {@link WaitPlan}: when a head is due, and what a grant and an abort do to
 * their tokens.
 *
 * A caller may also be *held*: pending but not queued, such as a Redis call whose reply has not come.
 * It counts in {@link length}, is rejected by {@link close}, and its abort is delivered like a queued
 * one's; the bucket {@link release}s it when its fate is known.
 */
export class WaitingRoom<W extends Waiter> implements AbortOwner {
  private readonly queue = new WaiterQueue();
  private held: Set<W> | undefined = undefined;
  /** Waiters queued and held: read on every bucket's hot path, so kept in a field of its own. */
  private count = 0;
  private signals: SignalWatch | undefined;
  private readonly counters: BucketCounters;
  private readonly useTimer: boolean;
  private timer: ClockTimer | undefined = undefined;
  private retry: ClockRetry | undefined = undefined;
  private closed = false;
  /** The waiters of the abort being delivered, in the order SignalWatch told them. */
  private aborting: W[] | undefined = undefined;

  /**
   * @param plan when waiters are due, and what grants and aborts do to the bucket's tokens
   * @param time where the room reads time and sets its timer
   * @param counters the bucket's counters behind `stats()`: the room keeps `queued` (its length),
   *   `aborted` and `closed` in them
   */
  constructor(
    private readonly plan: WaitPlan<W>,
    private readonly time: RoomTime,
    counters: BucketCounters,
    options: WaitingRoomOptions = {},
  ) {
    this.signals = options.signals;
    this.counters = counters;
    this.useTimer = options.headTimer ?? true;
  }

  /** Callers waiting: queued and held. */
  get length(): number {
    return this.count;
  }

  /** Callers in the queue (held ones not counted). */
  get queued(): number {
    return this.queue.length;
  }

  /** The first queued waiter (the next to be granted), or undefined. */
  get head(): W | undefined {
    return this.queue.head as W | undefined;
  }

  /** Iterates the queued waiters head first. Do not change the room meanwhile. */
  [Symbol.iterator](): IterableIterator<W> {
    return this.queue[Symbol.iterator]() as IterableIterator<W>;
  }

  /**
   * Watches `waiter.extras.signal`, if it has one, so that its abort reaches the room. Call it before
   * committing anything for the waiter: it throws what the signal's `addEventListener` throws, having
   * registered nothing, so that the caller can reject and change nothing.
   */
  watch(waiter: W): void {
    const signal = waiter.extras?.signal;
    if (signal !== undefined) (this.signals ??= new SignalWatch()).watch(waiter, signal);
  }

  /** Stops watching `waiter`'s signal: it never joined the room after {@link watch} (refused). */
  unwatch(waiter: W): void {
    this.forget(waiter);
  }

  /** Appends `waiter` (whose instant the plan knows) to the queue; arms the timer if it is the new head. */
  push(waiter: W): void {
    this.queue.push(waiter);
    this.count += 1;
    this.counters.queued += 1;
    if (this.queue.length === 1) this.headChanged();
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
   * Grants, in order, every head whose instant (`plan.dueAt`) is at or before `now`; a head whose signal
   * reports an abort its listener has not delivered yet leaves as aborted instead, taking nothing. Then
   * re-arms for the new head. `now` undefined (an invalid reading) grants nothing and paces the timer.
   */
  drain(now: number | undefined): void {
    const queue = this.queue;
    const first = queue.head;
    let dropped: W[] | undefined;
    if (now !== undefined) {
      for (let head = first as W | undefined; head !== undefined; head = queue.head as W | undefined) {
        if (this.plan.dueAt(head) > now) break;
        const signal = head.extras?.signal;
        const aborted = signal === undefined ? undefined : pendingAbort(signal);
        queue.remove(head);
        this.count -= 1;
        this.counters.queued -= 1;
        this.forget(head);
        if (aborted === undefined) {
          this.plan.granting(head);
          head.resolve();
        } else {
          this.counters.aborted += 1;
          rejectWaiter(head, aborted.reason);
          (dropped ??= []).push(head);
        }
      }
    }
    if (dropped !== undefined) {
      this.plan.dropped(dropped);
      this.drain(now);
      return;
    }
    if (queue.head !== first) this.headChanged(now);
  }

  /** The waiters' instants changed (a give-back moved them up, or the clock changed): re-arm the timer. */
  rearm(): void {
    this.headChanged();
  }

  /** Removes `waiter` from the queue and rejects it with `reason` (a re-plan refused it). */
  refuse(waiter: W, reason: unknown): void {
    const head = this.queue.head;
    this.queue.remove(waiter);
    this.count -= 1;
    this.counters.queued -= 1;
    this.forget(waiter);
    rejectWaiter(waiter, reason);
    if (waiter === head) this.headChanged();
  }

  /**
   * Rejects every waiter, queued and held, with `error`, head first, stops the timer, and returns them.
   * The room is closed from then on: nothing can wait in it again.
   */
  close(error: Error): W[] {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    const waiters = this.queue.takeAll() as W[];
    if (this.held !== undefined) {
      waiters.push(...this.held);
      this.held = undefined;
    }
    this.count = 0;
    this.counters.closed += waiters.length;
    this.counters.queued -= waiters.length;
    for (const waiter of waiters) {
      this.forget(waiter);
      rejectWaiter(waiter, error);
    }
    return waiters;
  }

  /** Called by {@link SignalWatch}: `waiter`'s signal aborted. Rejects it at once with `reason`. */
  dropAborted(waiter: Waiter, reason: unknown): void {
    const mine = waiter as W;
    if (this.held?.delete(mine) !== true) this.queue.remove(mine);
    this.count -= 1;
    this.counters.queued -= 1;
    this.counters.aborted += 1;
    rejectWaiter(mine, reason); // untouched, whatever it is
    (this.aborting ??= []).push(mine);
  }

  /** Called by {@link SignalWatch} once every waiter of an abort was dropped: the plan re-plans, then the room drains. */
  afterAborts(): void {
    // Called right after dropAborted() put waiters here; never on a closed room, whose waiters close()
    // made SignalWatch forget.
    const dropped = this.aborting as W[];
    this.aborting = undefined;
    this.plan.dropped(dropped);
    const now = this.time.tryNow();
    this.drain(now);
    this.headChanged(now);
  }

  /** Forgets `waiter`'s signal registration, if it has one. */
  private forget(waiter: W): void {
    this.signals?.forget(waiter); // a waiter without a signal was never watched: a no-op
  }

  /** Tells the plan, and re-arms the head's timer (at the plan's instant, or a retry on an invalid reading). */
  private headChanged(now?: number): void {
    if (this.closed) return; // a call's late reply (Redis) or a notice (shared) after close() arms nothing
    this.plan.headChanged?.();
    if (!this.useTimer) return;
    this.timer?.cancel();
    this.timer = undefined;
    const head = this.queue.head as W | undefined;
    if (head === undefined) return;
    const at = this.plan.dueAt(head);
    if (at === Number.POSITIVE_INFINITY) return;
    const reading = now ?? this.time.tryNow();
    let delay: number;
    if (reading === undefined) {
      delay = (this.retry ??= new ClockRetry()).next();
    } else {
      this.retry?.reset();
      delay = at - reading;
    }
    // Timers round, cap and sometimes fire early: on waking the room re-reads the clock, grants what is
    // due, and a head still early simply gets a new timer.
    this.timer = ClockTimer.timeout(this.time.clock, this.wake, delay);
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    const now = this.time.tryNow();
    this.drain(now);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- drain() may have set a timer
    if (this.timer === undefined) this.headChanged(now);
  };
}
