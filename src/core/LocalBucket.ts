import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import type { GetTokenRequest } from '../options/requestOptions.js';
import type { BucketInit } from './bucketInit.js';
import { BucketCounters } from './counters.js';
import { decide, pauseUntil, peekWait } from './decide.js';
import { deferred } from './deferred.js';
import { limitStateAt, type LimitState } from './limits.js';
import type { RefillSchedule } from './refill.js';
import { replanWaiters } from './replan.js';
import type { SignalWatch } from './SignalWatch.js';
import type { Timeline } from './Timeline.js';
import { Room } from './Room.js';
import type { QueueCap } from './WaitPlan.js';
import { Waiter, WaiterExtras } from './WaiterQueue.js';

/**
 * The waiting room of every bucket nobody has waited on yet: always empty (nothing is ever pushed to
 * it, and it is never closed), so one object serves them all and a bucket (every key of a keyed
 * bucket) allocates its own room only when a first caller has to wait.
 */
const NO_ROOM = /* @__PURE__ */ new Room<Waiter>(
  {
    dueAt: () => Number.POSITIVE_INFINITY,
    granting: () => undefined,
    dropped: () => undefined,
  },
  { tryNow: () => undefined, clock: globalThis },
  /* @__PURE__ */ new BucketCounters(),
);

/**
 * LocalBucket is the store of an in-process bucket: the live state of its limits (a plain object of
 * this thread), the projection of where they stand once every queued caller is granted (its tail),
 * and its callers in a {@link Room}. Every decision goes through the core's `decide()`: with no
 * wait on the live state for a take now, with the caller's `maxWait` on the tail for a reservation.
 * The room sets the head's timer (the lazy and keyed buckets), or the subclass wakes it (the timer
 * kind's refill interval, through {@link LocalBucket.sync}). The public contract is
 * {@link BucketBase}'s, built on this.
 */
export abstract class LocalBucket {
  /** The waiting callers; {@link NO_ROOM} until a first caller has to wait. */
  protected room: Room<Waiter> = NO_ROOM;
  /** Where the limits stand: tokens held and schedule position. Replaced by `reconfigure()`. */
  protected limit: LimitState;
  /** The counters behind `stats()`. */
  protected readonly counters: BucketCounters;
  /** `maxQueue`, shared by the keys of a keyed bucket. */
  protected readonly cap: QueueCap;
  /** The key of a keyed bucket's key (passed to the observer), undefined for a bucket of its own. */
  protected readonly eventKey: unknown;
  /** Where the bucket reads time: its clock, re-based when that clock changes under it. */
  protected readonly timeline: Timeline;
  /**
   * Where the limits stand once every queued waiter has been granted, or undefined when that must be
   * recomputed (after an abort). Lets `maxWait` and `waitTime()` see through the queue in O(1). Owned
   * by the bucket (never the same object as {@link limit}); meaningful only while the queue is not empty.
   */
  protected tail: LimitState | undefined = undefined;
  protected closed = false;
  /** The abort listeners of the signals passed to `getToken()`; created on first use unless shared. */
  private signals: SignalWatch | undefined;
  /**
   * Whether a take must call {@link tokensTaken}: set by a subclass that waits for one (the timer kind,
   * idle while full), so that the others pay one field read on the hot path and no call.
   */
  protected takeWakes = false;

  protected constructor(init: BucketInit) {
    this.limit = init.limit;
    this.timeline = init.timeline;
    this.counters = init.counters;
    this.cap = init.cap;
    this.eventKey = init.key;
    this.signals = init.signals;
    // A bucket of its own re-arms its timers when the clock changes under it; the keys of a keyed
    // bucket share its timeline, whose owner (the keyed bucket) tells each of them.
    this.timeline.onSourceChange ??= () => {
      this.clockChanged();
    };
  }

  /** Whether `close()` has been called. */
  protected get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Brings the bucket up to clock reading `now`: the room grants, in order, every queued waiter whose
   * grant instant has come (each at its own instant, so a late timer changes nothing), then the
   * refills of the steps since are added. Time that goes backwards is ignored.
   */
  protected sync(now: number): void {
    const limit = this.limit;
    const room = this.room;
    // Stryker disable next-line BlockStatement: equivalent, fast paths: before the next step advance() adds nothing, and a drain() of a head that is not due grants nothing
    if (room.length === 0) {
      // Stryker disable next-line ConditionalExpression: equivalent, as above
      if (now < limit.nextStepAt) return;
      // Stryker disable next-line ConditionalExpression: equivalent, as above
    } else if (now >= limit.nextStepAt || limit.grantsNow((room.head as Waiter).count, now)) {
      room.drain(now);
      // Stryker disable next-line BlockStatement: equivalent, as above
    } else {
      // Before the next step nothing refills, so a head is due only if the tokens held cover it now:
      // not this one, so the room would grant nothing (every getToken() behind a queue comes here).
      return;
    }
    limit.advance(now);
  }

  /**
   * Called when the default clock changed under the bucket (fake timers installed or removed): timers
   * set on the previous clock would fire on the wrong timeline, or never. Re-arms the head's timer;
   * the timer kind re-arms its refill timers. Also called by the keyed bucket for its keys.
   */
  clockChanged(): void {
    if (!this.closed && this.room.length !== 0) this.room.rearm();
  }

  /** Brings the bucket up to the clock's reading, unless that reading is invalid (then changes nothing). */
  protected syncIfValid(): void {
    const now = this.timeline.tryNow();
    if (now !== undefined) this.sync(now);
  }

  /**
   * Brings the bucket to `now` and puts `schedules` (starting at `now`) in force: limit `i` carries the
   * tokens of the old limit `i`, capped at its new capacity (a limit with no old counterpart starts
   * full), a pause in force carries on (at most `refillTokens` of each new limit at its end), and the
   * queue is re-planned by {@link replan}.
   */
  protected applySchedules(schedules: readonly RefillSchedule[], now: number): void {
    this.sync(now);
    const held = this.limit.tokensByLimit();
    const carried = schedules.map((schedule, i) => Math.min(schedule.capacity, held[i] ?? schedule.capacity));
    const limit = limitStateAt(schedules, carried, now);
    // A pause in force holds through a reconfiguration.
    const resumeAt = this.limit.resumeAt;
    if (resumeAt > now) pauseUntil(limit, resumeAt);
    this.replan(limit, now);
  }

  /**
   * Brings the bucket to `now` and pauses it until clock reading `until` (see `pauseUntil()` in
   * `decide.ts`): the live limits are emptied as of `until`, and the queue is re-planned on them in
   * order by {@link replan} (a waiter whose grant now breaks its `maxWait` rejects). Public for the
   * keyed bucket, which pauses one key's bucket; `now` and `until` are valid clock readings, the bucket open.
   */
  pauseAt(now: number, until: number): void {
    this.sync(now);
    const limit = this.limit;
    pauseUntil(limit, until);
    this.replan(limit, now);
  }

  /**
   * Puts `limit` in force at clock reading `now` (the caller has synced the old state to `now`) and
   * re-plans the queue under it, in order: a waiter above the new capacity rejects with `RangeError`,
   * one whose new grant instant breaks its `maxWait` rejects with `MaxWaitExceededError`, and the rest
   * keep their places. Then grants what is due and re-arms through {@link limitChanged} and
   * {@link headChanged}.
   */
  protected replan(limit: LimitState, now: number): void {
    this.limit = limit;
    const projected = limit.clone();
    const refused = replanWaiters(this.room, projected, this.counters);
    this.tail = projected;
    this.limitChanged();
    this.sync(now);
    this.room.rearm();
    // Told once the bucket is consistent again: an observer may call it.
    const events = this.counters.events;
    if (events !== undefined) for (const [count, reason] of refused) events.refused(count, reason, this.eventKey);
  }

  /**
   * Called when the head of the queue changes: a first waiter arrives, the head is granted or aborted,
   * or the queue empties (and after `reconfigure()`). Never called after close.
   */
  protected headChanged(): void {}

  /** Whether the room sets a timer for the head (the lazy and keyed buckets); the timer kind ticks instead. */
  protected get setsHeadTimer(): boolean {
    return true;
  }

  /** Stops every timer of the subclass; called once, by `close()`. */
  protected abstract stopTimers(): void;

  /** Called after a take when {@link takeWakes} is set. */
  protected tokensTaken(): void {}

  /** Called when `reconfigure()` has put new schedules in force, before {@link headChanged}. */
  protected limitChanged(): void {}

  /** Returns an error to reject a caller that would have to wait with, or undefined to let it queue. */
  protected refuseWait(): Error | undefined {
    return undefined;
  }

  /**
   * The slow path of `getToken()`, for a caller that has to wait: refuses it when the queue holds
   * `maxQueue` callers, predicts the grant, applies `maxWait`, and queues the caller. Throws what the
   * signal's `addEventListener` throws before anything changes.
   */
  protected enqueue(count: number, request: GetTokenRequest, now: number): Promise<void> {
    const refusal = this.refuseWait();
    if (refusal !== undefined) return Promise.reject(refusal);
    const { signal, maxWait } = request;
    const room = this.room === NO_ROOM ? (this.room = this.openRoom()) : this.room;
    if (room.full) return Promise.reject(room.queueFull(count));
    const { promise, resolve, reject } = deferred();
    const counters = this.counters;
    // Only a call with a signal or a maxWait, or of an observed bucket (its wait is reported), keeps
    // `reject`, the instant of the call and the rest (WaiterExtras).
    const extras =
      signal === undefined && maxWait === undefined && counters.events === undefined
        ? undefined
        : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, room);
    const waiter = new Waiter(count, resolve, extras);
    // Watched first: a signal whose addEventListener throws leaves the bucket as it was.
    room.watch(waiter);
    const tail = this.tailState();
    // The live state moves only at grants: the first waiter's reservation is made on a copy.
    const projected = tail === this.limit ? tail.clone() : tail;
    if (Number.isNaN(decide(projected, now, count, maxWait ?? Number.POSITIVE_INFINITY))) {
      room.unwatch(waiter);
      counters.maxWaitExceeded += 1;
      counters.events?.refused(count, 'maxWaitExceeded', this.eventKey);
      return Promise.reject(new MaxWaitExceededError(peekWait(projected, now, count), maxWait ?? 0));
    }
    this.tail = projected;
    room.push(waiter);
    return promise;
  }

  /**
   * Rejects every waiting caller with `BucketClosedError` and forgets the projection (for `close()`);
   * returns how many were rejected.
   */
  protected closeRoom(): number {
    const rejected = this.room === NO_ROOM ? 0 : this.room.close(new BucketClosedError()).length;
    this.tail = undefined;
    return rejected;
  }

  /** Creates this bucket's waiting room, at its first caller that has to wait. */
  private openRoom(): Room<Waiter> {
    return new Room<Waiter>(
      {
        dueAt: (head) => this.limit.grantTime(head.count),
        granting: (head) => {
          this.limit.grantNext(head.count);
          this.countGrant(head.count);
        },
        dropped: () => {
          this.tail = undefined; // the projection counted the aborted callers
        },
        headChanged: () => {
          this.headChanged();
        },
      },
      this.timeline,
      this.counters,
      { signals: this.signals, headTimer: this.setsHeadTimer, cap: this.cap, key: this.eventKey },
    );
  }

  private countGrant(count: number): void {
    const counters = this.counters;
    counters.tokensGranted += count;
    counters.granted += 1;
  }

  /**
   * Where the limits stand once every queued waiter is granted: the live state itself when nobody
   * waits (do not mutate it then), otherwise the projection, recomputed only after an abort.
   */
  protected tailState(): LimitState {
    if (this.room.length === 0) return this.limit;
    if (this.tail === undefined) {
      const tail = this.limit.clone();
      for (const waiter of this.room) tail.grantNext(waiter.count);
      this.tail = tail;
    }
    return this.tail;
  }
}
