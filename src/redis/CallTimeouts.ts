/**
 * The timeout machinery of a `ScriptCaller`: its pending calls in the order they were made, and the
 * one timer, set for the oldest unanswered call, that times them out. No I/O here.
 */
import { timerDelay } from '../clock.js';
import type { Lane, PendingCall } from './batches.js';
import { realNow } from './Breaker.js';

interface TimerHandle {
  unref?(): unknown;
}

/**
 * CallTimeouts holds a `ScriptCaller`'s calls awaiting their reply, in call order. Every call has the
 * same timeout (`timeout` real ms), counted from the call, so calls time out in the order they were
 * made: one timer, set for the oldest unanswered call, serves them all. Settled calls are dropped from
 * the front.
 */
export class CallTimeouts {
  /** Calls in order; settled ones are dropped from the front. */
  private calls: PendingCall[] = [];
  private head = 0;
  private timer: unknown = undefined;
  /** The `clearTimeout` of the API that set {@link timer} (fake timers may have come or gone since). */
  private clearTimer: (handle: never) => void = () => undefined;
  /** Set by {@link close}: the timer is cleared once no call is pending, rather than left to fire. */
  private closing = false;

  /**
   * @param timeout `redisTimeout`, real ms: how long each call may wait for its reply
   * @param timedOut called for each call past its deadline, in call order, once it is marked `done`
   *   and `timedOut`: it rejects the call; it returns the call's lane if the timeout freed it
   * @param resume called, after every call due has timed out, for each lane a timeout freed
   */
  constructor(
    private readonly timeout: number,
    private readonly timedOut: (call: PendingCall) => Lane | undefined,
    private readonly resume: (lane: Lane) => void,
  ) {}

  /** The deadline (real ms) of a call made now. */
  deadline(): number {
    return realNow() + this.timeout;
  }

  /** Appends `call` (the latest made) and arms the timer if it is not armed. */
  add(call: PendingCall): void {
    this.calls.push(call);
    if (this.timer === undefined) this.arm(this.timeout);
  }

  /** Times out every call whose deadline has passed, then waits for the next oldest. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = realNow();
    const freed: Lane[] = [];
    for (; this.head < this.calls.length; this.head += 1) {
      const call = this.calls[this.head] as PendingCall;
      if (call.done) continue;
      if (call.deadline > now) break;
      call.done = true;
      call.timedOut = true;
      const lane = this.timedOut(call);
      if (lane !== undefined) freed.push(lane);
    }
    this.dropSettled();
    // After the loop: the takes waiting on a freed key that are past their deadline have timed out too.
    for (const lane of freed) this.resume(lane);
    const next = this.calls[this.head];
    if (next !== undefined && this.timer === undefined) this.arm(next.deadline - now);
  };

  private arm(ms: number): void {
    const handle = globalThis.setTimeout(this.expire, timerDelay(ms)) as TimerHandle;
    handle.unref?.();
    this.timer = handle;
    this.clearTimer = globalThis.clearTimeout;
  }

  /**
   * The store is closed: once no call is pending (the background give-backs of `close()` included),
   * the timeout timer is cleared instead of left armed until it fires. While the store is open it
   * stays armed after the last reply (one `setTimeout` per `redisTimeout` at most, not one per call).
   */
  close(): void {
    this.closing = true;
    this.dropSettled();
  }

  /** Drops the settled calls from the front (and clears the timer once none is left, after {@link close}). */
  dropSettled(): void {
    while (this.head < this.calls.length && (this.calls[this.head] as PendingCall).done) this.head += 1;
    if (this.head === this.calls.length) {
      this.calls = [];
      this.head = 0;
      if (this.closing && this.timer !== undefined) {
        this.clearTimer(this.timer as never);
        this.timer = undefined;
      }
    } else if (this.head > 1024 && this.head * 2 > this.calls.length) {
      this.calls = this.calls.slice(this.head);
      this.head = 0;
    }
  }
}
