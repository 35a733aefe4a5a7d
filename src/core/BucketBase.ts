import type { Clock } from '../clock.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { resolveBucketOptions, resolveReconfigure, type ResolvedLimit } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import { checkCount, PLAIN_REQUEST, readGetTokenOptions, type GetTokenRequest } from '../options/requestOptions.js';
import type {
  GetTokenOptions,
  MultiLimitOptions,
  ReconfigurableTokenBucketFilter,
  ReconfigureOptions,
  TokenBucketFilterKind,
  TokenBucketOptions,
  TokenBucketStats,
} from '../TokenBucketFilter.js';
import { BucketCounters } from './counters.js';
import { decide, peekWait } from './decide.js';
import { deferred } from './deferred.js';
import { limitStateAt, type LimitState } from './limits.js';
import { msUntil, type RefillSchedule } from './refill.js';
import type { SignalWatch } from './SignalWatch.js';
import { Timeline } from './Timeline.js';
import { WaitingRoom } from './WaitingRoom.js';
import { Waiter, WaiterExtras } from './WaiterQueue.js';

const GRANTED: Promise<void> = Promise.resolve();

/**
 * The waiting room of every bucket nobody has waited on yet: always empty (nothing is ever pushed to
 * it, and it is never closed), so one object serves them all and a bucket (every key of a keyed
 * bucket) allocates its own room only when a first caller has to wait.
 */
const NO_ROOM = new WaitingRoom<Waiter>(
  {
    dueAt: () => Number.POSITIVE_INFINITY,
    granting: () => undefined,
    dropped: () => undefined,
  },
  { tryNow: () => undefined, clock: globalThis },
);

/** What a bucket starts from: its limits' state, its clock and where it counts. */
export interface BucketInit {
  /** The limits, positioned at the instant of creation. */
  readonly limit: LimitState;
  /** Where the bucket reads time (shared by the keys of a keyed bucket). */
  readonly timeline: Timeline;
  /** The counters to bump (shared by the keys of a keyed bucket). */
  readonly counters: BucketCounters;
  /**
   * The abort listeners to register waiters with, shared by the keys of a keyed bucket (one listener
   * per signal for them all); undefined for a bucket of its own, which creates one on first use.
   */
  readonly signals?: SignalWatch | undefined;
}

/** Returns the schedules of `limits`, all starting at clock reading `origin`. */
export function schedulesFrom(limits: readonly ResolvedLimit[], origin: number): RefillSchedule[] {
  return limits.map(({ capacity, refillTokens, refillInterval }) => ({
    capacity,
    refillTokens,
    refillInterval,
    origin,
  }));
}

/**
 * Validates bucket options (one limit or several) for a bucket class of `kind`, reads the clock once
 * and returns the bucket's starting state. Throws `TypeError`/`RangeError` naming the bad option.
 */
export function bucketInit(options: TokenBucketOptions | MultiLimitOptions, kind: TokenBucketFilterKind): BucketInit {
  const resolved = resolveBucketOptions(options);
  if (ownOption(options, 'kind') !== undefined && resolved.kind !== kind) {
    throw new TypeError(`kind ${formatValue(resolved.kind)} does not match this ${kind} bucket's class`);
  }
  const timeline = new Timeline(resolved.clock);
  const now = timeline.now();
  const schedules = schedulesFrom(resolved.limits, now);
  return {
    limit: limitStateAt(
      schedules,
      resolved.limits.map((limit) => limit.initialTokens),
      now,
    ),
    timeline,
    counters: new BucketCounters(),
  };
}

/**
 * BucketBase is the state machine every in-process bucket shares: the tokens of its limits on their
 * refill schedules, decided by the core's `decide()`, and its waiting callers in a
 * {@link WaitingRoom}, with the grant, abort, `maxWait`, reconfigure and close rules. The room sets
 * the head's timer (the lazy and keyed buckets); the timer kind wakes the room with its refill
 * interval instead, calling {@link BucketBase.sync}.
 *
 * Every public method reads the clock once and passes that instant down to the pure arithmetic of
 * `decide.ts`, `limits.ts` and `refill.ts`.
 */
export abstract class BucketBase implements ReconfigurableTokenBucketFilter {
  /** The waiting callers; {@link NO_ROOM} until a first caller has to wait. */
  protected room: WaitingRoom<Waiter> = NO_ROOM;
  /** Where the limits stand: tokens held and schedule position. Replaced by `reconfigure()`. */
  protected limit: LimitState;
  /** The counters behind `stats()`. */
  protected readonly counters: BucketCounters;
  /** Where the bucket reads time: its clock, re-based when that clock changes under it. */
  protected readonly timeline: Timeline;
  /**
   * Where the limits stand once every queued waiter has been granted, or undefined when that must be
   * recomputed (after an abort). Lets `maxWait` and `waitTime()` see through the queue in O(1). Owned
   * by the bucket (never the same object as {@link limit}); meaningful only while the queue is not empty.
   */
  private tail: LimitState | undefined = undefined;
  private closed = false;
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
    this.signals = init.signals;
    // A bucket of its own re-arms its timers when the clock changes under it; the keys of a keyed
    // bucket share its timeline, whose owner (the keyed bucket) tells each of them.
    this.timeline.onSourceChange ??= () => {
      this.clockChanged();
    };
  }

  /** The clock to set timers on: the injected one, or the default one as it is right now. */
  protected get clock(): Clock {
    return this.timeline.clock;
  }

  /** Whether `close()` has been called. */
  protected get isClosed(): boolean {
    return this.closed;
  }

  /** The largest count one call may ask for: the capacity (the smallest, with several limits). */
  get capacity(): number {
    return this.limit.capacity;
  }

  get available(): number {
    if (this.closed) return 0;
    this.syncIfValid();
    return this.room.length === 0 ? this.limit.tokens : 0;
  }

  get pending(): number {
    if (this.closed) return 0;
    this.syncIfValid();
    return this.room.length;
  }

  tryGetToken(count = 1): boolean {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.limit.capacity);
    if (invalid !== undefined) throw invalid;
    return this.tryTakeAt(count, this.timeline.now());
  }

  /**
   * `tryGetToken(count)` at clock reading `now`, once `count` and the reading are known to be valid
   * and the bucket open (the keyed bucket checks them before it picks a key's bucket).
   */
  tryTakeAt(count: number, now: number): boolean {
    this.sync(now);
    const counters = this.counters;
    // The one decision with no wait: granted now, or refused (a queue means nobody may barge).
    if (this.room.length !== 0 || Number.isNaN(decide(this.limit, now, count, 0))) {
      counters.denied += 1;
      return false;
    }
    counters.tokensGranted += count;
    counters.granted += 1;
    if (this.takeWakes) this.tokensTaken();
    return true;
  }

  waitTime(count = 1): number {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.limit.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.timeline.now();
    this.sync(now);
    return this.room.length === 0 ? peekWait(this.limit, now, count) : msUntil(this.tailState().grantTime(count), now);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.limit.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      const request = options === undefined ? PLAIN_REQUEST : readGetTokenOptions(options);
      return this.takeOrWait(count, request, this.timeline.now());
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * `getToken(count, options)` at clock reading `now`, once the bucket is known to be open and `count`,
   * the options (read into `request`) and the reading valid. May throw what the signal's
   * `addEventListener` throws, having changed nothing; callers turn that into a rejection.
   */
  takeOrWait(count: number, request: GetTokenRequest, now: number): Promise<void> {
    const limit = this.limit;
    const room = this.room;
    // The hot path: before the next step with nobody queued, there is nothing to sync.
    if (now >= limit.nextStepAt || room.length !== 0) this.sync(now);
    // Granted now (the one decision, with no wait on the live state), or on to the queue's tail.
    if (room.length === 0 && !Number.isNaN(decide(limit, now, count, 0))) {
      const counters = this.counters;
      counters.tokensGranted += count;
      counters.granted += 1;
      if (this.takeWakes) this.tokensTaken();
      return GRANTED;
    }
    return this.enqueue(count, request, now);
  }

  /**
   * Changes the limits; see {@link ReconfigurableTokenBucketFilter.reconfigure}. Throws on invalid
   * options (changing nothing) and after `close()`.
   */
  reconfigure(options: ReconfigureOptions): void {
    if (this.closed) throw new BucketClosedError();
    const limits = resolveReconfigure(options, this.limit.schedules());
    const now = this.timeline.now();
    this.applySchedules(schedulesFrom(limits, now), now);
  }

  /** Returns a snapshot of the counters; see {@link TokenBucketStats}. */
  stats(): TokenBucketStats {
    if (!this.closed) this.syncIfValid();
    return this.counters.snapshot();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    if (this.room !== NO_ROOM) this.room.close(new BucketClosedError());
    this.tail = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Brings the bucket up to clock reading `now`: the room grants, in order, every queued waiter whose
   * grant instant has come (each at its own instant, so a late timer changes nothing), then the
   * refills of the steps since are added. Time that goes backwards is ignored.
   */
  protected sync(now: number): void {
    const limit = this.limit;
    const room = this.room;
    if (room.length !== 0) room.drain(now);
    else if (now < limit.nextStepAt) return;
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
   * full), and the queue is re-planned by {@link replan}.
   */
  protected applySchedules(schedules: readonly RefillSchedule[], now: number): void {
    this.sync(now);
    const held = this.limit.tokensByLimit();
    const carried = schedules.map((schedule, i) => Math.min(schedule.capacity, held[i] ?? schedule.capacity));
    this.replan(limitStateAt(schedules, carried, now), now);
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
    for (const waiter of [...this.room]) {
      let refusal: Error | undefined;
      if (waiter.count > limit.capacity) {
        refusal = new RangeError(
          `count must not exceed the new capacity (${limit.capacity}), received ${waiter.count}`,
        );
        this.counters.overCapacity += 1;
      } else {
        const grantAt = projected.grantTime(waiter.count);
        const extras = waiter.extras;
        if (extras !== undefined && grantAt - extras.calledAt > extras.maxWait) {
          refusal = new MaxWaitExceededError(grantAt - extras.calledAt, extras.maxWait);
          this.counters.maxWaitExceeded += 1;
        } else {
          projected.grantNext(waiter.count);
        }
      }
      if (refusal !== undefined) this.room.refuse(waiter, refusal);
    }
    this.tail = projected;
    this.limitChanged();
    this.sync(now);
    this.room.rearm();
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
   * The slow path of `getToken()`: predicts the grant, applies `maxWait`, and queues the caller. Throws
   * what the signal's `addEventListener` throws before anything changes.
   */
  private enqueue(count: number, request: GetTokenRequest, now: number): Promise<void> {
    const refusal = this.refuseWait();
    if (refusal !== undefined) return Promise.reject(refusal);
    const { signal, maxWait } = request;
    const room = this.room === NO_ROOM ? (this.room = this.openRoom()) : this.room;
    const { promise, resolve, reject } = deferred();
    // Only a call with a signal or a maxWait keeps `reject` and the rest (WaiterExtras).
    const extras =
      signal === undefined && maxWait === undefined
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
      this.counters.maxWaitExceeded += 1;
      return Promise.reject(new MaxWaitExceededError(peekWait(projected, now, count), maxWait ?? 0));
    }
    this.tail = projected;
    room.push(waiter);
    return promise;
  }

  /** Creates this bucket's waiting room, at its first caller that has to wait. */
  private openRoom(): WaitingRoom<Waiter> {
    return new WaitingRoom<Waiter>(
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
      { signals: this.signals, counters: this.counters, headTimer: this.setsHeadTimer },
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
  private tailState(): LimitState {
    if (this.room.length === 0) return this.limit;
    if (this.tail === undefined) {
      const tail = this.limit.clone();
      for (const waiter of this.room) tail.grantNext(waiter.count);
      this.tail = tail;
    }
    return this.tail;
  }
}
