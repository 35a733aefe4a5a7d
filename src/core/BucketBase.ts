import { globalClock, type Clock } from '../clock.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { checkCount, checkMaxWait, describe, resolveOptions, type ResolvedOptions } from '../options.js';
import type {
  GetTokenOptions,
  TokenBucketFilter,
  TokenBucketFilterKind,
  TokenBucketOptions,
} from '../TokenBucketFilter.js';
import {
  grantNext,
  refill,
  stepTime,
  stepsAt,
  stepsUntil,
  type BucketPosition,
  type RefillSchedule,
} from './refill.js';
import { Waiter, WaiterQueue } from './WaiterQueue.js';

const GRANTED: Promise<void> = Promise.resolve();

function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as Partial<AbortSignal> | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' &&
    typeof signal.removeEventListener === 'function'
  );
}

/**
 * BucketBase is the state machine every in-process bucket shares: the token count on the refill
 * schedule, the FIFO queue of waiters, and the grant, abort, `maxWait` and close rules. It never sets a
 * timer; subclasses decide how to wake up when the head of the queue is due, through
 * {@link BucketBase.headChanged}, and call {@link BucketBase.sync} when they do.
 *
 * Every public method reads the clock once and passes that instant down to the pure arithmetic in
 * `refill.ts`.
 */
export abstract class BucketBase implements TokenBucketFilter {
  readonly capacity: number;
  /** The refill schedule, anchored at the clock reading of construction. */
  protected readonly schedule: RefillSchedule;
  protected readonly queue = new WaiterQueue();
  private readonly injectedClock: Clock | undefined;
  /** Tokens held just after step `position.step` of the schedule. */
  private readonly position: BucketPosition;
  /** Clock reading of the next step: until then no refill can happen (the fast path). */
  private nextStepAt: number;
  /**
   * Where the schedule stands once every queued waiter has been granted, or undefined when that must be
   * recomputed (after an abort). Lets `maxWait` and `waitTime()` see through the queue in O(1).
   */
  private tail: BucketPosition | undefined = undefined;
  private closed = false;

  protected constructor(options: TokenBucketOptions, kind: TokenBucketFilterKind) {
    const resolved: ResolvedOptions = resolveOptions(options);
    if ((options as { kind?: unknown }).kind !== undefined && resolved.kind !== kind) {
      throw new TypeError(`kind ${describe(resolved.kind)} does not match this ${kind} bucket's class`);
    }
    this.capacity = resolved.capacity;
    this.injectedClock = resolved.clock;
    this.schedule = {
      capacity: resolved.capacity,
      refillTokens: resolved.refillTokens,
      refillInterval: resolved.refillInterval,
      origin: this.clock.performance.now(),
    };
    this.position = { tokens: resolved.initialTokens, step: 0 };
    this.nextStepAt = stepTime(this.schedule, 1);
  }

  /** The clock: the injected one, or `globalThis` as it is right now. */
  protected get clock(): Clock {
    return this.injectedClock ?? globalClock();
  }

  /** Whether `close()` has been called. */
  protected get isClosed(): boolean {
    return this.closed;
  }

  get available(): number {
    if (this.closed) return 0;
    this.sync(this.clock.performance.now());
    return this.queue.length === 0 ? this.position.tokens : 0;
  }

  get pending(): number {
    if (this.closed) return 0;
    this.sync(this.clock.performance.now());
    return this.queue.length;
  }

  tryGetToken(count = 1): boolean {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    this.sync(this.clock.performance.now());
    if (this.queue.length !== 0 || this.position.tokens < count) return false;
    this.position.tokens -= count;
    return true;
  }

  waitTime(count = 1): number {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.clock.performance.now();
    this.sync(now);
    if (this.queue.length === 0 && this.position.tokens >= count) return 0;
    const projected = { ...this.tailPosition() };
    return Math.max(0, stepTime(this.schedule, grantNext(this.schedule, projected, count)) - now);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) return Promise.reject(invalid);
    let signal: AbortSignal | undefined;
    let maxWait: number | undefined;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        return Promise.reject(new TypeError(`options must be an object, received ${describe(options)}`));
      }
      signal = options.signal;
      maxWait = options.maxWait;
      if (signal !== undefined && !isAbortSignal(signal)) {
        return Promise.reject(new TypeError(`signal must be an AbortSignal, received ${describe(signal)}`));
      }
      if (maxWait !== undefined) {
        const badMaxWait = checkMaxWait(maxWait);
        if (badMaxWait !== undefined) return Promise.reject(badMaxWait);
      }
      if (signal?.aborted === true) return Promise.reject(signal.reason);
    }

    const now = this.clock.performance.now();
    this.sync(now);
    if (this.queue.length === 0 && this.position.tokens >= count) {
      this.position.tokens -= count;
      return GRANTED;
    }
    const refusal = this.refuseWait();
    if (refusal !== undefined) return Promise.reject(refusal);

    const projected = { ...this.tailPosition() };
    const grantAt = stepTime(this.schedule, grantNext(this.schedule, projected, count));
    if (maxWait !== undefined && grantAt - now > maxWait) {
      return Promise.reject(new MaxWaitExceededError(grantAt - now, maxWait));
    }
    this.tail = projected;
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(count, resolve, reject, signal);
      if (signal !== undefined) {
        waiter.onAbort = () => this.abort(waiter);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      if (this.queue.length === 1) this.headChanged();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    const error = new BucketClosedError();
    for (const waiter of this.queue.takeAll()) {
      this.detach(waiter);
      waiter.reject(error);
    }
    this.tail = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Brings the bucket up to clock reading `now`: grants, in order, every queued waiter whose grant
   * step has come (each at its own step, so a late timer changes nothing), then adds the refills of the
   * steps since. Time that goes backwards is ignored. Calls {@link headChanged} if the head changed.
   */
  protected sync(now: number): void {
    if (now < this.nextStepAt && this.queue.length === 0) return;
    const position = this.position;
    const current = Math.max(position.step, stepsAt(this.schedule, now));
    const head = this.queue.head;
    for (let waiter = head; waiter !== undefined; waiter = this.queue.head) {
      if (position.step + stepsUntil(this.schedule, position.tokens, waiter.count) > current) break;
      grantNext(this.schedule, position, waiter.count);
      this.queue.remove(waiter);
      this.detach(waiter);
      waiter.resolve();
    }
    if (current > position.step) {
      position.tokens = refill(this.schedule, position.tokens, current - position.step);
      position.step = current;
    }
    this.nextStepAt = stepTime(this.schedule, current + 1);
    if (head !== undefined && this.queue.head !== head) this.headChanged();
  }

  /**
   * Returns the clock reading (ms) at which the head of the queue will be granted, or undefined when
   * nobody waits. Call right after {@link sync}.
   */
  protected headGrantTime(): number | undefined {
    const head = this.queue.head;
    if (head === undefined) return undefined;
    const { tokens, step } = this.position;
    return stepTime(this.schedule, step + stepsUntil(this.schedule, tokens, head.count));
  }

  /**
   * Called when the head of the queue changes: a first waiter arrives, the head is granted or aborted,
   * or the queue empties. Subclasses (re)arm or release their timers here. Never called after close.
   */
  protected abstract headChanged(): void;

  /** Stops every timer of the subclass; called once, by `close()`. */
  protected abstract stopTimers(): void;

  /** Returns an error to reject a caller that would have to wait with, or undefined to let it queue. */
  protected refuseWait(): Error | undefined {
    return undefined;
  }

  /** Where the schedule stands once every queued waiter is granted; recomputed only after an abort. */
  private tailPosition(): BucketPosition {
    if (this.queue.length === 0) return this.position;
    if (this.tail === undefined) {
      const tail = { ...this.position };
      for (const waiter of this.queue) grantNext(this.schedule, tail, waiter.count);
      this.tail = tail;
    }
    return this.tail;
  }

  private abort(waiter: Waiter): void {
    const wasHead = this.queue.head === waiter;
    this.queue.remove(waiter);
    this.tail = undefined;
    waiter.onAbort = undefined;
    waiter.reject(waiter.signal?.reason);
    if (!wasHead) return;
    // The callers behind move up: grant any that the tokens already cover, then re-arm for the new head.
    this.sync(this.clock.performance.now());
    this.headChanged();
  }

  private detach(waiter: Waiter): void {
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }
}
