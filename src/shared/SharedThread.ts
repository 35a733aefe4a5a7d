import { globalClock, readClock, tryReadClock, type Clock } from '../clock.js';
import { BucketCounters } from '../core/counters.js';
import type { BucketEvents } from '../core/events.js';
import { WaitingRoom, type QueueCap, type RoomTime, type WaitPlan } from '../core/WaitingRoom.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { checkCount } from '../options/requestOptions.js';
import { epochClock } from './epochClock.js';
import { GENERATION } from './layout.js';
import { NoticeWatch, tellEveryThread } from './NoticeWatch.js';
import { giveBack, replan } from './replan.js';
import type { SharedState } from './SharedState.js';
import type { Refusal, SharedWaiter } from './SharedWaiter.js';
import type { QueueOwner, TakeCache } from './takeOrReserve.js';

/** A count is checked against the capacity under the lock (another thread may change it): before that, only its type. */
const ANY_CAPACITY = Number.POSITIVE_INFINITY;

/**
 * SharedThread is one thread's side of a shared bucket: its access to the shared state, its clock on
 * the time base every thread shares, and the {@link WaitingRoom} of its own waiting callers, for which
 * it is the room's {@link WaitPlan}. A waiter's tokens are reserved in the shared state when it
 * queues, so a grant takes nothing more (it counts and un-pends it), and an abort gives the tokens back
 * when nobody else has drawn on them since (`giveBack()`). Its `getToken()` is `getTokenAt()` of
 * `getToken.ts`.
 *
 * What other threads do reaches it through the shared memory: it notices a close (rejecting its
 * callers) or a reconfiguration (re-planning them) at its next call, and, while callers wait, at once
 * as its {@link NoticeWatch} part sees the notice word (through `Atomics.waitAsync`, or a poll).
 */
export class SharedThread extends NoticeWatch implements WaitPlan<SharedWaiter>, QueueOwner, RoomTime {
  override readonly room: WaitingRoom<SharedWaiter>;
  /** What another thread needs to attach: the buffer (structured-clonable; shared, not copied). */
  readonly handle: { readonly buffer: SharedArrayBuffer };
  /** The configuration generation this thread's queue is planned for. */
  generation: number;
  /** The last valid clock reading of this thread (ms), for getters on an invalid one. */
  lastReading = Number.NEGATIVE_INFINITY;
  /** What the last `tryGetToken()` proved about the next grant (see `takeNow()`). */
  readonly takeCache: TakeCache = { earliest: Number.NEGATIVE_INFINITY, earlier: 0, capacity: 0 };
  private closedHere = false;
  private syncQueued = false;
  /** Refusals of a re-plan made under the lock, settled once it is released. */
  private refusals: Refusal[] = [];

  /**
   * @param state the shared state
   * @param injected the injected clock (every thread must inject one of the same base), or undefined
   *   for the default time base, `performance.timeOrigin + performance.now()`
   * @param cap this instance's `maxQueue` (a cap on this thread's queue, not on every thread's)
   * @param events this instance's observer, told what this thread's calls do
   */
  constructor(
    override readonly state: SharedState,
    readonly injected: Clock | undefined,
    readonly cap: QueueCap,
    readonly events: BucketEvents | undefined,
  ) {
    super();
    // The room's own counts are this thread's alone; stats() reads the shared ones, kept in the buffer.
    // They carry this instance's observer, which the room tells what it counts.
    this.room = new WaitingRoom<SharedWaiter>(this, this, new BucketCounters(events), { cap });
    this.handle = Object.freeze({ buffer: state.buffer });
    state.lock();
    state.read(); // learns the configuration (the capacity)
    this.generation = state.generation;
    state.unlock();
  }

  /** Where this thread reads time: the injected clock, or the shared epoch base. */
  get timeClock(): Clock {
    return this.injected ?? epochClock;
  }

  /** The clock timers are set on: the injected one, or the global one as it is now. */
  override get clock(): Clock {
    return this.injected ?? globalClock();
  }

  /** The current reading on the shared time base (ms). Throws `InvalidClockReadingError`. */
  now(): number {
    const now = readClock(this.timeClock);
    this.lastReading = now;
    return now;
  }

  /** {@link now}, or undefined on an invalid reading. */
  tryNow(): number | undefined {
    const now = tryReadClock(this.timeClock);
    if (now !== undefined) this.lastReading = now;
    return now;
  }

  /**
   * Reads the clock for a call as {@link now} does (throwing `InvalidClockReadingError`), then grants
   * what is due in this thread by that reading; returns the reading (ms).
   */
  nowDue(): number {
    const now = this.now();
    if (this.room.queued !== 0) this.room.drain(now);
    return now;
  }

  /**
   * Catches up with the other threads: returns true when the bucket is closed (this thread's callers
   * are rejected then), and re-plans this thread's callers when another thread reconfigured.
   */
  override sync(): boolean {
    if (this.closedHere) return true;
    if (this.state.closed) {
      this.closeHere();
      return true;
    }
    // Only queued callers need re-planning (a reservation re-plans first when its thread is behind).
    if (this.room.queued !== 0 && Atomics.load(this.state.words, GENERATION) !== this.generation) this.catchUp();
    return false;
  }

  /**
   * Checks that a call on `count` tokens may go on: throws `BucketClosedError` once the bucket is
   * closed (by any thread), and the `TypeError`/`RangeError` of an invalid count (checked against the
   * capacity later, under the lock: another thread may change it).
   */
  checkCall(count: number): void {
    if (this.sync()) throw new BucketClosedError();
    const invalid = checkCount(count, ANY_CAPACITY);
    if (invalid !== undefined) throw invalid;
  }

  /** Rejects this thread's callers with `BucketClosedError` and stops watching; the bucket is closed in shared memory. */
  closeHere(): void {
    if (this.closedHere) return;
    this.closedHere = true;
    this.stopWatching();
    const waiters = this.room.close(new BucketClosedError());
    if (waiters.length !== 0) {
      this.state.addPending(-waiters.length);
      this.state.lock();
      this.state.count('closed', waiters.length);
      this.state.unlock();
    }
    this.events?.closed(waiters.length);
  }

  /** Called with the lock held when this thread's queue is planned for an older configuration. */
  replanUnderLock(now: number): void {
    if (this.room.queued !== 0) this.refusals.push(...replan(this.state, now, this.queue()));
    this.generation = this.state.generation;
  }

  /** This thread's queued waiters, in order, but for those a re-plan has refused and {@link settle} will reject. */
  private queue(): SharedWaiter[] {
    const refused = new Set(this.refusals.map(([waiter]) => waiter));
    return [...this.room].filter((waiter) => !refused.has(waiter));
  }

  /** Rejects the waiters a re-plan refused (outside the lock) and re-arms for the new instants. */
  settle(refusals: readonly Refusal[] = []): void {
    const all = this.refusals.length === 0 ? refusals : [...this.refusals.splice(0), ...refusals];
    if (all.length === 0) return;
    this.state.addPending(-all.length);
    for (const [waiter, error] of all) this.room.refuse(waiter, error);
    this.room.rearm();
    const events = this.events;
    if (events === undefined) return;
    for (const [waiter, error] of all) {
      events.refused(
        waiter.tokens,
        error instanceof MaxWaitExceededError ? 'maxWaitExceeded' : 'overCapacity',
        undefined,
      );
    }
  }

  /**
   * Makes `change` to the shared state at clock reading `now`, under the lock, once this thread's
   * queue is planned for the configuration in force; `change` re-plans this thread's queue `mine` and
   * returns the refusals. Then tells every thread, settles the refusals and grants what is due.
   */
  changeForAll(now: number, change: (state: SharedState, mine: SharedWaiter[]) => Refusal[]): void {
    const state = this.state;
    this.room.drain(now);
    state.lock();
    let refusals;
    try {
      if (state.generation !== this.generation) this.replanUnderLock(now);
      refusals = change(state, this.queue());
      this.generation = state.generation;
    } finally {
      state.unlock();
    }
    tellEveryThread(state.words);
    this.settle(refusals);
    this.room.rearm();
    this.room.drain(now);
  }

  // The room's plan.

  dueAt(head: SharedWaiter): number {
    // Granting on a plan another thread's reconfiguration has changed would be wrong: re-plan first.
    if (Atomics.load(this.state.words, GENERATION) === this.generation) return head.grantAt;
    this.syncSoon();
    return Number.POSITIVE_INFINITY;
  }

  granting(head: SharedWaiter): void {
    this.state.addPending(-1);
    this.state.lock();
    this.state.countGrant(head.tokens);
    this.state.unlock();
  }

  dropped(dropped: readonly SharedWaiter[]): void {
    this.state.addPending(-dropped.length);
    if (giveBack(this.state, this.tryNow(), dropped, this.room)) this.room.rearm();
  }

  headChanged(): void {
    this.watchNotices();
  }

  /** Re-plans this thread's queue for the configuration now in force, then grants what is due. */
  private catchUp(): void {
    const now = this.tryNow();
    if (now === undefined) return; // on an invalid reading: at the next valid one
    this.state.lock();
    try {
      this.replanUnderLock(now);
    } finally {
      this.state.unlock();
    }
    this.settle();
    this.room.rearm();
    this.room.drain(now);
  }

  /** Syncs in a microtask: a head was looked at (inside the room) while the plan was out of date. */
  private syncSoon(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }
}
