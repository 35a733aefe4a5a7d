import { tryReadClock, type Clock } from '../clock.js';
import type { BucketCounters } from '../core/counters.js';
import { deferred } from '../core/deferred.js';
import { WaitingRoom, type QueueCap, type WaitPlan } from '../core/WaitingRoom.js';
import { WaiterExtras } from '../core/WaiterQueue.js';
import { MaxWaitExceededError } from '../errors.js';
import { checkCount, type GetTokenRequest } from '../options/requestOptions.js';
import type { TokenBucketFilter } from '../TokenBucketFilter.js';
import type { GetTokenOptions } from '../types/options.js';
import type { BucketKey } from './BucketKey.js';
import { Call } from './calls.js';
import { RedisKeyError, RedisUnavailableError } from './errors.js';
import type { GiveBacks } from './GiveBacks.js';
import { TAKE_GRANTED, TAKE_OVER_CAPACITY, TAKE_RESERVED, TAKE_TOO_LATE, type TakeReply } from './protocol.js';
import type { RedisBucketParts } from './RedisBucket.js';
import type { ScriptReply } from './ScriptCaller.js';

/**
 * Waits carries one Redis bucket's `getToken()` calls from the take sent to their settlement, through
 * the core's {@link WaitingRoom}: a call whose take is in flight is held there; a reserved one is
 * queued, FIFO in reply order, until its instant (the room's one head timer); the room delivers aborts
 * (one listener per signal) and rejects everyone on close. No queue, timer or listener of its own.
 */
export class Waits {
  /** This instance's waiting callers. */
  readonly room: WaitingRoom<Call>;
  /** The takes sent so far. */
  takesSent = 0;
  /** `maxQueue`: the cap on this instance's queue (held and sleeping calls). */
  readonly cap: QueueCap;
  private readonly counters: BucketCounters;
  private readonly fallback: TokenBucketFilter | undefined;
  /** The calls handed to the fallback and not settled yet, with the controller that aborts the fallback's wait. */
  private readonly atFallback = new Map<Call, AbortController>();

  constructor(
    private readonly key: BucketKey,
    parts: RedisBucketParts,
    private readonly giveBacks: GiveBacks,
    isClosed: () => boolean,
    /** Whether a due sleeper may be granted now (or first asks Redis whether a pause voided it); undefined: always. */
    ready?: (head: Call, now: number) => boolean,
  ) {
    this.counters = parts.counters;
    this.fallback = parts.fallback;
    this.cap = parts.cap;
    const plan: WaitPlan<Call> = {
      dueAt: (head) => (head.confirming ? Number.POSITIVE_INFINITY : head.deadline),
      granting: (head) => {
        head.state = 'done';
        this.granted(head.count); // the room tells the observer, with the wait
        this.giveBacks.granting(head);
      },
      dropped: (dropped) => {
        for (const call of dropped) call.unwanted = true;
        this.leftFallback(dropped, undefined);
        if (isClosed()) return;
        // A call still sending has no reservation yet: its reply gives it back (unwantedReply).
        for (const call of dropped) if (call.state === 'sleeping') call.state = 'done';
        this.giveBacks.withdrawAborted();
      },
      ready,
    };
    const timeClock = (): Clock => key.timeClock;
    this.room = new WaitingRoom(
      plan,
      {
        tryNow: () => tryReadClock(timeClock()),
        // Looked up at each use: the default clock is the global one as it is then.
        get clock() {
          return timeClock();
        },
      },
      parts.counters,
      { signals: parts.signals, cap: parts.cap, key: parts.eventKey },
    );
    this.eventKey = parts.eventKey;
  }

  /** The key of a keyed store's bucket, for the observer (undefined for a bucket of its own). */
  readonly eventKey: string | undefined;

  /** Settles `call`, released from the room (or never queued), as rejected with `reason`. */
  refuseReleased(call: Call, reason: unknown): void {
    call.state = 'done';
    this.room.unwatch(call);
    call.reject(reason);
  }

  /** Rejects `call`, which asks for more than `capacity`, the new one (`reconfigure()`). */
  overCapacity(call: Call, capacity: number): void {
    call.state = 'done';
    call.unwanted = true;
    const count = call.count; // read first: leaving the queue from its middle clears it
    this.counters.overCapacity += 1;
    this.room.refuse(call, new RangeError(`count must not exceed the new capacity (${capacity}), received ${count}`));
    this.counters.events?.refused(count, 'overCapacity', this.eventKey);
  }

  /** Rejects `call`, which the new limits (`reconfigure()`) would grant `waitTime` ms after its call, past its `maxWait`. */
  maxWaitBroken(call: Call, waitTime: number): void {
    call.state = 'done';
    call.unwanted = true;
    const count = call.count; // read first: leaving the queue from its middle clears it
    this.counters.maxWaitExceeded += 1;
    this.room.refuse(call, new MaxWaitExceededError(waitTime, call.maxWait ?? 0));
    this.counters.events?.refused(count, 'maxWaitExceeded', this.eventKey);
  }

  /** Counts a grant of `count` tokens (the caller tells the observer, or the room does). */
  granted(count: number): void {
    this.counters.granted += 1;
    this.counters.tokensGranted += count;
  }

  /** Counts the grant of `call`, resolved just now without sleeping, and tells the observer its wait. */
  private grantedNow(call: Call): void {
    this.granted(call.count);
    if (this.counters.events !== undefined) this.room.grantedAt(call, tryReadClock(this.key.timeClock));
  }

  /**
   * `getToken()` once the bucket is open and `count` and the options are valid: sends the take. Throws
   * (the caller rejects with it) `InvalidClockReadingError` and what the signal's `addEventListener`
   * throws, in both cases having sent nothing.
   *
   * While this instance's queue (its calls in flight included, as `pending` counts them) holds
   * `maxQueue` calls, the take is sent as one that may not wait (`maxWait` 0): granted if the tokens
   * are there now, otherwise refused by the script having reserved nothing, and rejected here with
   * `QueueFullError` (before the caller's own `maxWait`).
   */
  send(count: number, request: GetTokenRequest): Promise<void> {
    const { signal, maxWait } = request;
    // The decision's time (client time), or the clock the caller may have to sleep on (Redis time).
    const now = this.key.read();
    const { promise, resolve, reject } = deferred();
    // An observed bucket's calls keep the instant of the call in their extras, for the wait it reports.
    const extras =
      signal === undefined && this.counters.events === undefined
        ? undefined
        : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, this.room);
    const call = new Call(this.takesSent + 1, count, resolve, extras, reject, maxWait, now);
    // Watched before anything is sent: a signal whose addEventListener throws reserves nothing.
    this.room.watch(call);
    this.takesSent = call.seq; // counted only once it is sure to be sent
    const queued = this.room.length;
    const maxQueue = this.cap.maxQueue;
    const full = queued >= maxQueue;
    this.room.hold(call);
    // A refusal of a take sent full is a QueueFullError, with the queue and the cap as they were at the call.
    const fullAt = full ? queued : -1;
    const onReply = (reply: ScriptReply): void => {
      this.answered(call, reply, fullAt, maxQueue);
    };
    this.key.take(
      count,
      full ? 0 : maxWait, // full: a take that may not wait
      now,
      () => !call.unwanted, // aborted or closed before its batch was sent: nothing is sent for it
      onReply,
      (error) => {
        this.unavailable(call, error);
        this.giveBacks.takeAnswered(call.seq); // or failed: its script may run later, and then a withdraw just fails
      },
      onReply, // a reply after our timeout: the call failed meanwhile, and what it took goes back
    );
    return promise;
  }

  /** `fullAt`: the queue's length at the call when it was full then (`maxQueue` the cap then), else -1. */
  private answered(call: Call, reply: ScriptReply, fullAt: number, maxQueue: number): void {
    let take: TakeReply;
    try {
      take = this.key.readTake(this.key.observe(reply), 0);
    } catch (invalid) {
      this.unavailable(call, invalid);
      this.giveBacks.takeAnswered(call.seq);
      return;
    }
    this.settleTake(call, take, fullAt, maxQueue);
    this.giveBacks.takeAnswered(call.seq);
  }

  /** What the reply of `call`'s take means for it (`fullAt`, `maxQueue`: see {@link answered}). */
  private settleTake(call: Call, take: TakeReply, fullAt: number, maxQueue: number): void {
    const { status, wait, grantAt } = take;
    if (call.state !== 'sending' || !this.room.release(call)) {
      // Aborted, failed or closed while the script ran: give back what it took, when that is safe.
      call.state = 'done';
      this.giveBacks.unwantedReply(call, take);
      return;
    }
    if (status === TAKE_GRANTED) {
      call.state = 'done';
      this.room.grantHeld(call);
      this.grantedNow(call);
    } else if (status === TAKE_TOO_LATE && fullAt >= 0) {
      this.refuseReleased(call, this.room.queueFull(call.count, fullAt, maxQueue));
    } else if (status === TAKE_TOO_LATE) {
      this.counters.maxWaitExceeded += 1;
      this.refuseReleased(call, new MaxWaitExceededError(wait, call.maxWait ?? 0));
      this.counters.events?.refused(call.count, 'maxWaitExceeded', this.eventKey);
    } else if (status === TAKE_RESERVED) {
      let deadline: number;
      try {
        // Reserved under limits a reconfiguration has replaced since, beyond the new capacity: refused.
        const overCapacity =
          call.count > this.key.inForce.capacity ? checkCount(call.count, this.key.inForce.capacity) : undefined;
        if (overCapacity !== undefined) throw overCapacity;
        deadline = this.key.deadline(wait, grantAt);
      } catch (refusal) {
        // Or Redis time, and the local clock cannot say when to wake: refuse, and give the tokens back.
        this.refuseReleased(call, refusal);
        call.unwanted = true;
        this.giveBacks.unwantedReply(call, take);
        return;
      }
      this.giveBacks.sleep(call, take.reservation, deadline);
    } else {
      this.refuseReleased(
        call,
        status === TAKE_OVER_CAPACITY
          ? checkCount(call.count, this.key.inForce.capacity)
          : new RedisUnavailableError(new TypeError(`unexpected status ${String(status)} from the bucket script`)),
      );
    }
  }

  /**
   * Hands `call` (just released) to the `fallback` bucket. It stays held in the room meanwhile: counted
   * in `pending`, rejected by `close()` and by its signal (the room delivers both, and the fallback's
   * wait is aborted, so that it takes nothing after that); granted or refused as the fallback says.
   */
  private toFallback(call: Call, fallback: TokenBucketFilter): void {
    this.room.hold(call);
    const controller = new AbortController();
    this.atFallback.set(call, controller);
    const options: GetTokenOptions = { signal: controller.signal };
    if (call.maxWait !== undefined) options.maxWait = call.maxWait;
    const settled = (): boolean => {
      this.atFallback.delete(call);
      return this.room.release(call); // false: closed or aborted meanwhile, and settled already
    };
    let answer: Promise<void>;
    try {
      answer = fallback.getToken(call.count, options);
    } catch (thrown) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched, whatever it is
      answer = Promise.reject(thrown); // a fallback that throws instead of rejecting
    }
    answer.then(
      () => {
        if (!settled()) return;
        this.room.grantHeld(call);
        this.grantedNow(call);
      },
      (reason: unknown) => {
        if (settled()) this.refuseReleased(call, reason);
      },
    );
  }

  /** Aborts the fallback's wait of each of `calls` that has one (they were just rejected: closed or aborted). */
  leftFallback(calls: Iterable<Call>, reason: unknown): void {
    for (const call of calls) {
      const controller = this.atFallback.get(call);
      if (controller === undefined) continue;
      this.atFallback.delete(call);
      controller.abort(reason);
    }
  }

  private unavailable(call: Call, error: unknown): void {
    if (call.state !== 'sending') return;
    call.state = 'done';
    call.unwanted = true;
    if (!this.room.release(call)) return; // aborted or closed meanwhile: settled already
    if (error instanceof RedisKeyError) {
      this.refuseReleased(call, error); // the key's own error, not an outage: neither fallback nor failMode
    } else if (this.fallback !== undefined) {
      this.toFallback(call, this.fallback);
    } else if (this.key.config.failMode === 'open') {
      this.room.grantHeld(call);
      this.grantedNow(call);
    } else {
      this.refuseReleased(call, error);
    }
  }
}
