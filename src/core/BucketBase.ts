import { ClockRetry, type Clock } from '../clock.js';
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
import { deferred } from './deferred.js';
import { limitStateAt, type LimitState } from './limits.js';
import { msUntil, type RefillSchedule } from './refill.js';
import { pendingAbort, SignalWatch, type AbortOwner } from './SignalWatch.js';
import { Timeline } from './Timeline.js';
import { rejectWaiter, Waiter, WaiterExtras, WaiterQueue } from './WaiterQueue.js';

const GRANTED: Promise<void> = Promise.resolve();

/**
 * The queue of every bucket nobody has waited on yet: always empty (nothing is ever pushed to it), so
 * one object serves them all and a bucket (every key of a keyed bucket) allocates its own queue only
 * when a first caller has to wait.
 */
const NO_WAITERS = new WaiterQueue();

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
 * refill schedules, the FIFO queue of waiters, and the grant, abort, `maxWait`, reconfigure and close
 * rules. It never sets a timer; subclasses decide how to wake up when the head of the queue is due,
 * through {@link BucketBase.headChanged}, and call {@link BucketBase.sync} when they do.
 *
 * Every public method reads the clock once and passes that instant down to the pure arithmetic of
 * `limits.ts` and `refill.ts`.
 */
export abstract class BucketBase implements ReconfigurableTokenBucketFilter, AbortOwner {
  /** The FIFO of waiting callers; {@link NO_WAITERS} until a first caller has to wait. */
  protected queue: WaiterQueue = NO_WAITERS;
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
  /** Paces timers while the clock gives invalid readings; created on the first one. */
  private clockRetry: ClockRetry | undefined = undefined;

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
    return this.queue.length === 0 ? this.limit.tokens : 0;
  }

  get pending(): number {
    if (this.closed) return 0;
    this.syncIfValid();
    return this.queue.length;
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
    const limit = this.limit;
    this.sync(now);
    const counters = this.counters;
    if (this.queue.length !== 0 || limit.tokens < count) {
      counters.denied += 1;
      return false;
    }
    limit.take(count);
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
    if (this.queue.length === 0 && this.limit.tokens >= count) return 0;
    return msUntil(this.tailState().grantTime(count), now);
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
    // The hot path: before the next step with nobody queued, there is nothing to sync.
    if (now >= limit.nextStepAt || this.queue.length !== 0) this.sync(now);
    if (this.queue.length === 0 && limit.tokens >= count) {
      limit.take(count);
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
    const error = new BucketClosedError();
    const waiters = this.queue.length === 0 ? [] : this.queue.takeAll();
    this.counters.closed += waiters.length;
    this.counters.queued -= waiters.length;
    for (const waiter of waiters) {
      this.detach(waiter);
      rejectWaiter(waiter, error);
    }
    this.tail = undefined;
  }

  /** Removes `waiter`, whose signal aborted, and rejects it with `reason`; see {@link SignalWatch}. */
  dropAborted(waiter: Waiter, reason: unknown): void {
    this.queue.remove(waiter);
    this.counters.queued -= 1;
    this.counters.aborted += 1;
    this.tail = undefined;
    rejectWaiter(waiter, reason); // untouched, whatever it is
  }

  /** The callers behind aborted ones move up: grant any the tokens already cover, and re-arm for the head. */
  afterAborts(): void {
    if (this.closed) return;
    this.syncIfValid();
    this.headChanged();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Brings the bucket up to clock reading `now`: grants, in order, every queued waiter whose grant
   * instant has come (each at its own instant, so a late timer changes nothing), then adds the refills
   * of the steps since. Time that goes backwards is ignored. Calls {@link headChanged} if the head
   * changed.
   */
  protected sync(now: number): void {
    const limit = this.limit;
    if (now < limit.nextStepAt && this.queue.length === 0) return;
    const head = this.queue.head;
    for (let waiter = head; waiter !== undefined; waiter = this.queue.head) {
      if (limit.tokens < waiter.count && limit.grantTime(waiter.count) > now) break;
      const signal = waiter.extras?.signal;
      const aborted = signal === undefined ? undefined : pendingAbort(signal);
      if (aborted !== undefined) {
        // Aborted, and its own listener has not run yet: it leaves the queue now, taking nothing.
        this.detach(waiter);
        this.dropAborted(waiter, aborted.reason);
        continue;
      }
      limit.grantNext(waiter.count);
      this.queue.remove(waiter);
      this.counters.queued -= 1;
      this.detach(waiter);
      this.countGrant(waiter.count);
      waiter.resolve();
    }
    limit.advance(now);
    if (head !== undefined && this.queue.head !== head) this.headChanged();
  }

  /**
   * Returns the clock reading (ms) at which the head of the queue will be granted, or undefined when
   * nobody waits. Call right after {@link sync}.
   */
  protected headGrantTime(): number | undefined {
    const head = this.queue.head;
    return head === undefined ? undefined : this.limit.grantTime(head.count);
  }

  /**
   * Returns how long (ms) a timer must sleep to wake at clock reading `at`. When the clock gives an
   * invalid reading, a timer cannot know how far `at` is: it returns a {@link ClockRetry} delay instead.
   */
  protected delayUntil(at: number): number {
    const now = this.timeline.tryNow();
    if (now === undefined) return (this.clockRetry ??= new ClockRetry()).next();
    this.clockRetry?.reset();
    return at - now;
  }

  /**
   * Called when the default clock changed under the bucket (fake timers installed or removed): timers
   * set on the previous clock would fire on the wrong timeline, or never. Re-arms the head's timer;
   * the timer kind re-arms its refill timers. Also called by the keyed bucket for its keys.
   */
  clockChanged(): void {
    if (!this.closed && this.queue.length !== 0) this.headChanged();
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
    for (const waiter of [...this.queue]) {
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
      if (refusal !== undefined) {
        this.queue.remove(waiter);
        this.counters.queued -= 1;
        this.detach(waiter);
        rejectWaiter(waiter, refusal);
      }
    }
    this.tail = projected;
    this.limitChanged();
    this.sync(now);
    this.headChanged();
  }

  /**
   * Called when the head of the queue changes: a first waiter arrives, the head is granted or aborted,
   * or the queue empties (and after `reconfigure()`). Subclasses (re)arm or release their timers here.
   * Never called after close.
   */
  protected abstract headChanged(): void;

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
    const tail = this.tailState();
    const grantAt = tail.grantTime(count);
    const wait = msUntil(grantAt, now);
    if (maxWait !== undefined && wait > maxWait) {
      this.counters.maxWaitExceeded += 1;
      return Promise.reject(new MaxWaitExceededError(wait, maxWait));
    }
    const { promise, resolve, reject } = deferred();
    // Only a call with a signal or a maxWait keeps `reject` and the rest (WaiterExtras).
    const extras =
      signal === undefined && maxWait === undefined
        ? undefined
        : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, this);
    const waiter = new Waiter(count, resolve, extras);
    // Registered first: a signal whose addEventListener throws leaves the bucket as it was.
    if (signal !== undefined) (this.signals ??= new SignalWatch()).watch(waiter, signal);
    const projected = tail === this.limit ? tail.clone() : tail;
    projected.grantNext(count);
    this.tail = projected;
    if (this.queue === NO_WAITERS) this.queue = new WaiterQueue();
    this.queue.push(waiter);
    this.counters.queued += 1;
    if (this.queue.length === 1) this.headChanged();
    return promise;
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
    if (this.queue.length === 0) return this.limit;
    if (this.tail === undefined) {
      const tail = this.limit.clone();
      for (const waiter of this.queue) tail.grantNext(waiter.count);
      this.tail = tail;
    }
    return this.tail;
  }

  /** Forgets `waiter`'s signal registration when it leaves the queue (granted, refused or closed). */
  private detach(waiter: Waiter): void {
    if (waiter.extras?.signal !== undefined) this.signals?.forget(waiter);
  }
}
