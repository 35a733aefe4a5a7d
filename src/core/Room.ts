import { QueueFullError } from '../errors.js';
import type { BucketCounters } from './counters.js';
import { HeadTimer } from './HeadTimer.js';
import { pendingAbort, SignalWatch, type AbortOwner } from './SignalWatch.js';
import { rejectWaiter, WaiterQueue, type Waiter } from './WaiterQueue.js';
import { NO_CAP, type QueueCap, type RoomTime, type WaitingRoomOptions, type WaitPlan } from './WaitPlan.js';

/**
 * Room holds one bucket instance's waiting callers, whatever the bucket stores its tokens in: a strict
 * FIFO with O(1) push, grant and remove ({@link WaiterQueue}), one timer for the head at most
 * ({@link HeadTimer}, paced while the clock gives invalid readings), one abort listener per signal
 * however many callers share it ({@link SignalWatch}), and a `close()` that rejects every caller. Every
 * bucket waits through it: the in-process ones through a Room, the shared and Redis ones through its
 * subclass `WaitingRoom` (`WaitingRoom.ts`), which can also *hold* a caller that is pending but not
 * queued (a Redis call whose reply has not come); a held caller counts in {@link length}, is rejected
 * by {@link close}, and its abort is delivered like a queued one's. What differs between the buckets is
 * only their {@link WaitPlan}: when a head is due, and what a grant and an abort do to their tokens.
 * The in-process buckets ship only this class (the size of the lazy bucket's bundle, issue 13).
 *
 * The room tells the bucket's observer (`counters.events`) what it counts: a caller queued, granted
 * after waiting (with its wait, from `extras.calledAt`: an observed bucket gives every waiter extras),
 * aborted, or refused by the cap. Each once the room and the plan are consistent again: a grant
 * right after the caller's promise is resolved, aborts once the plan has re-planned the rest.
 */
export class Room<W extends Waiter> implements AbortOwner {
  protected readonly queue = new WaiterQueue();
  /** The held callers (see `WaitingRoom`), kept here because {@link close} and aborts settle them too. */
  protected held: Set<W> | undefined = undefined;
  /** Waiters queued and held: read on every bucket's hot path, so kept in a field of its own. */
  protected count = 0;
  private signals: SignalWatch | undefined;
  protected readonly counters: BucketCounters;
  private readonly cap: QueueCap;
  protected readonly key: unknown;
  private readonly useTimer: boolean;
  private readonly timer: HeadTimer;
  private closed = false;
  /** The waiters of the abort being delivered, in the order SignalWatch told them. */
  private aborting: W[] | undefined = undefined;
  /** For the observer: the tokens each of {@link aborting} asked for, and the abort's reason. */
  private abortingCounts: number[] | undefined = undefined;
  private abortingReason: unknown = undefined;

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
    this.cap = options.cap ?? NO_CAP;
    this.key = options.key;
    this.useTimer = options.headTimer ?? true;
    this.timer = new HeadTimer(time, (now) => {
      this.drain(now);
      if (!this.timer.armed) this.headChanged(now); // drain() may have set it
    });
  }

  /**
   * Whether the room holds `maxQueue` callers or more: a caller that would have to wait is then refused
   * with {@link queueFull}. A store that learns only later whether a call waits (shared, Redis) asks
   * before it decides, and decides that call as one that may not wait.
   */
  get full(): boolean {
    return this.count >= this.cap.maxQueue;
  }

  /**
   * Returns the error that refuses a caller of `count` tokens who would have to wait while the room is
   * {@link full} (or, from a store that decided it with no wait, was {@link full} at its call, with
   * `queueLength` and `maxQueue` as they were then), and counts it in `queueFull`. Changes nothing else.
   */
  queueFull(count: number, queueLength = this.count, maxQueue = this.cap.maxQueue): QueueFullError {
    const counters = this.counters;
    counters.queueFull += 1;
    counters.events?.refused(count, 'queueFull', this.key);
    return new QueueFullError(queueLength, maxQueue);
  }

  /** Callers waiting: queued and held. */
  get length(): number {
    return this.count;
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
    const counters = this.counters;
    counters.queued += 1;
    if (this.queue.length === 1) this.headChanged();
    counters.events?.queued(waiter.count, this.count, this.key);
  }

  /**
   * Grants, in order, every head whose instant (`plan.dueAt`) is at or before `now`; a head whose signal
   * reports an abort its listener has not delivered yet leaves as aborted instead, taking nothing. Then
   * re-arms for the new head. `now` undefined (an invalid reading) grants nothing and paces the timer.
   */
  drain(now: number | undefined): void {
    const queue = this.queue;
    const first = queue.head;
    const events = this.counters.events;
    const ready = this.plan.ready; // read once: undefined for every bucket but the Redis ones
    let dropped: W[] | undefined;
    let reasons: unknown[] | undefined;
    if (now !== undefined) {
      for (let head = first as W | undefined; head !== undefined; head = queue.head as W | undefined) {
        if (this.plan.dueAt(head) > now) break;
        const signal = head.extras?.signal;
        const aborted = signal === undefined ? undefined : pendingAbort(signal);
        if (aborted === undefined && ready !== undefined && !ready(head, now)) break;
        queue.remove(head);
        this.count -= 1;
        this.counters.queued -= 1;
        this.forget(head);
        if (aborted === undefined) {
          this.plan.granting(head);
          head.resolve();
          events?.granted(head.count, waitedSince(head, now), this.key);
        } else {
          this.counters.aborted += 1;
          rejectWaiter(head, aborted.reason);
          (dropped ??= []).push(head);
          if (events !== undefined) (reasons ??= []).push(aborted.reason);
        }
      }
    }
    if (dropped !== undefined) {
      this.plan.dropped(dropped);
      if (events !== undefined) {
        // A head leaves the queue with its count intact.
        dropped.forEach((waiter, i) => {
          events.aborted(waiter.count, waitedSince(waiter, now), reasons?.[i], this.key);
        });
      }
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
    this.timer.cancel();
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
    if (this.counters.events !== undefined) {
      (this.abortingCounts ??= []).push(mine.count); // read now: leaving the queue may clear it
      this.abortingReason = reason;
    }
    if (this.held?.delete(mine) !== true) this.queue.remove(mine);
    this.count -= 1;
    this.counters.queued -= 1;
    this.counters.aborted += 1;
    rejectWaiter(mine, reason); // untouched, whatever it is
    (this.aborting ??= []).push(mine);
  }

  /** Called by {@link SignalWatch} once every waiter of an abort was dropped: the plan re-plans, then the room drains. */
  afterAborts(): void {
    const dropped = this.aborting;
    const counts = this.abortingCounts;
    const reason = this.abortingReason;
    this.aborting = undefined;
    this.abortingCounts = undefined;
    this.abortingReason = undefined;
    if (dropped === undefined || this.closed) return;
    this.plan.dropped(dropped);
    const now = this.time.tryNow();
    this.drain(now);
    this.headChanged(now);
    const events = this.counters.events;
    if (events === undefined || counts === undefined) return;
    dropped.forEach((waiter, i) => {
      events.aborted(counts[i] ?? 0, waitedSince(waiter, now), reason, this.key);
    });
  }

  /** Forgets `waiter`'s signal registration, if it has one. */
  protected forget(waiter: W): void {
    this.signals?.forget(waiter); // a waiter without a signal was never watched: a no-op
  }

  /** Tells the plan, and re-arms the head's timer (at the plan's instant, or a retry on an invalid reading). */
  private headChanged(now?: number): void {
    if (this.closed) return; // a call's late reply (Redis) or a notice (shared) after close() arms nothing
    this.plan.headChanged?.();
    if (!this.useTimer) return;
    this.timer.cancel();
    const head = this.queue.head as W | undefined;
    if (head === undefined) return;
    const at = this.plan.dueAt(head);
    if (at !== Number.POSITIVE_INFINITY) this.timer.arm(at, now);
  }
}

/** Ms from `waiter`'s call to clock reading `now`; NaN when unknown (no extras, or an invalid reading). */
export function waitedSince(waiter: Waiter, now: number | undefined): number {
  const calledAt = waiter.extras?.calledAt;
  return now === undefined || calledAt === undefined ? Number.NaN : Math.max(0, now - calledAt);
}
