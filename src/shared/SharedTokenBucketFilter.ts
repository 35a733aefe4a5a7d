import { ClockTimer, globalClock, type Clock } from '../clock.js';
import { stepTime, stepsAt, type RefillSchedule } from '../core/refill.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { checkCount, describe, readGetTokenOptions, type GetTokenRequest, resolveOptions } from '../options.js';
import type { GetTokenOptions, TokenBucketFilter, TokenBucketOptions } from '../TokenBucketFilter.js';
import { LocalReservation, ReservationQueue } from './ReservationQueue.js';
import { initialDebit, reserve, take, tokensAt, withdraw, type DebitParams } from './state.js';

/**
 * SharedTokenBucketHandle is what a worker needs to draw from a {@link SharedTokenBucketFilter}:
 * pass `bucket.handle` to the worker with `postMessage()` or `workerData` (it is structured-clonable;
 * the buffer is shared, not copied) and call `SharedTokenBucketFilter.from(handle)` there.
 */
export interface SharedTokenBucketHandle {
  /** The bucket's whole state and configuration (192 bytes). */
  readonly buffer: SharedArrayBuffer;
}

/** Options of {@link SharedTokenBucketFilter.from}. */
export interface SharedTokenBucketFromOptions {
  /**
   * Where this thread reads time and sets timers. Give one only if the bucket was created with one
   * (tests): every thread must read the same time base, so a bucket created with the default clock
   * refuses an injected one here and vice versa.
   */
  clock?: Clock | undefined;
}

// Layout of the shared buffer. The debit word sits alone on its 64-byte cache line.
const BYTES = 192;
const DEBIT = 0; // BigInt64 index (byte 0)
const CLOSED = 16; // Int32 indexes (bytes 64..)
const PENDING = 17;
const MAGIC = 18;
const CLOCK_BASE = 19;
const ORIGIN = 16; // Float64 indexes (bytes 128..)
const CAPACITY = 17;
const REFILL_TOKENS = 18;
const REFILL_INTERVAL = 19;
const MAGIC_VALUE = 0x54424631; // "TBF1": layout version 1
const DEFAULT_BASE = 1;
const INJECTED_BASE = 2;
/** Without `Atomics.waitAsync`, a thread that waits notices a close by another thread within this (ms). */
const CLOSE_POLL_MS = 1000;
/**
 * How long one `Atomics.waitAsync` on the closed word lasts (ms) before it is renewed (only while
 * callers wait): a bucket dropped without `close()` is held by its last wait no longer than this.
 */
const CLOSE_WATCH_MS = 30_000;
/** The debit must stay a signed 64-bit integer for this long (ms): about 100 years. */
const LIFETIME_MS = 100 * 365.25 * 24 * 60 * 60 * 1000;

const GRANTED: Promise<void> = Promise.resolve();
const ONE = 1n;

/**
 * The buffer and clock `from()` attaches to, handed to the constructor it calls (synchronously, so
 * nothing else can observe it); undefined when the constructor is called by a user.
 */
let attaching: { buffer: SharedArrayBuffer; clock: Clock | undefined } | undefined;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/**
 * SharedTokenBucketFilter is one token bucket shared by every thread (worker) of a process: its whole
 * state lives in a `SharedArrayBuffer`, so eight workers that draw from it together get the rate of
 * one bucket, not eight.
 *
 * Create it in one thread with the usual options, send `bucket.handle` to each worker, and call
 * {@link SharedTokenBucketFilter.from} there; every instance draws from the same tokens and honours
 * the `TokenBucketFilter` contract (discrete steps of `refillTokens` every `refillInterval` ms counted
 * from the creation, integer tokens, capped at `capacity`).
 *
 * How it works: the state is one 64-bit integer updated with `Atomics.compareExchange` (lock-free; no
 * thread ever blocks another). A `getToken()` that must wait *reserves* its tokens at the exact step
 * of its grant, behind every reservation made before it in any thread, and then sleeps in its own
 * thread; each thread holds one timer at most (for its earliest reservation), whatever its number of
 * waiters. `tryGetToken()` fails while any thread holds a reservation that is not yet due, so nobody
 * barges. Times are read on one base for all threads: `performance.timeOrigin + performance.now()`,
 * or the injected clock's `performance.now()`.
 *
 * Differences from the in-process buckets, all about several threads:
 * - Order across threads is the order in which their reservations reached the shared word; within a
 *   thread it is strictly FIFO.
 * - An aborted caller's tokens go back (and the callers behind it move up) only when nobody in another
 *   thread has drawn from the bucket since it reserved; otherwise it is rejected all the same and its
 *   reserved step simply passes unused, because callers in other threads already hold later steps
 *   that are counted on it. Either way nobody ever gets more than the schedule allows.
 * - `close()` in any thread closes the bucket for all of them: their later calls fail with
 *   `BucketClosedError`, and their queued callers are rejected promptly (through `Atomics.waitAsync`
 *   where the runtime has it, otherwise within 1 s).
 * - `pending` counts waiting callers in every thread (a caller whose worker was terminated while it
 *   waited stays counted, and its reserved step passes unused), and `maxWait` counts the queue of
 *   every thread.
 * - `[Symbol.dispose]()` is `close()`: `using` in a worker closes the bucket for every thread.
 *
 * It uses no Node-only API: browsers work too, in a page that is cross-origin isolated (where
 * `SharedArrayBuffer` exists).
 *
 * @example
 * // main.mjs
 * const bucket = new SharedTokenBucketFilter({ capacity: 10, refillTokens: 10, refillInterval: 1000 });
 * new Worker(new URL('./worker.mjs', import.meta.url), { workerData: bucket.handle });
 * // worker.mjs
 * const bucket = SharedTokenBucketFilter.from(workerData);
 * await bucket.getToken(); // at most 10 per second across all workers
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid (see
 * `TokenBucketOptions`; the message names the option and the value), when `SharedArrayBuffer` is
 * unavailable, or when `refillTokens` is so large for `refillInterval` that the 64-bit state would
 * overflow within 100 years.
 */
export class SharedTokenBucketFilter implements TokenBucketFilter {
  readonly capacity: number;
  /** Send this to a worker (`postMessage`, `workerData`) and pass it to {@link SharedTokenBucketFilter.from}. */
  readonly handle: SharedTokenBucketHandle;
  private readonly debitWord: BigInt64Array;
  private readonly words: Int32Array;
  private readonly schedule: RefillSchedule;
  private readonly params: DebitParams;
  private readonly injectedClock: Clock | undefined;
  private readonly queue = new ReservationQueue();
  /** The latest step this thread has seen (time going back is ignored), and its step × refillTokens. */
  private step = 0;
  private stepTokens = 0n;
  /** Clock reading at which the step after `step` begins: until then `step` needs no recomputing. */
  private nextStepAt: number;
  private headTimer: ClockTimer | undefined = undefined;
  /** The global `performance` last read, and its `timeOrigin`: the base every thread shares. */
  private performanceSeen: Performance | undefined = undefined;
  private timeOrigin = 0;
  private watchingClose = false;
  private closedHere = false;

  /**
   * Creates a bucket in a new `SharedArrayBuffer`, with a full bucket (or `initialTokens`) at this
   * instant. Options as for every bucket (`TokenBucketOptions`); with `clock`, every thread that uses
   * the bucket must pass the same kind of clock to {@link SharedTokenBucketFilter.from}.
   */
  constructor(options: TokenBucketOptions) {
    const attach = attaching;
    attaching = undefined;
    let buffer: SharedArrayBuffer;
    if (attach === undefined) {
      if ((options as { kind?: unknown } | null)?.kind !== undefined) {
        throw new TypeError(`Unknown option "kind" for a SharedTokenBucketFilter`);
      }
      const resolved = resolveOptions(options);
      if (typeof SharedArrayBuffer !== 'function') {
        throw new TypeError(
          'SharedArrayBuffer is not available here (in a browser, the page must be cross-origin isolated)',
        );
      }
      const stepsInLifetime = Math.ceil(LIFETIME_MS / resolved.refillInterval) + 1;
      if (resolved.refillTokens * stepsInLifetime > 2 ** 62) {
        throw new RangeError(
          `refillTokens (${resolved.refillTokens}) every ${resolved.refillInterval} ms would overflow the shared 64-bit state within 100 years`,
        );
      }
      buffer = new SharedArrayBuffer(BYTES);
      this.injectedClock = resolved.clock;
      const floats = new Float64Array(buffer);
      floats[ORIGIN] = this.now();
      floats[CAPACITY] = resolved.capacity;
      floats[REFILL_TOKENS] = resolved.refillTokens;
      floats[REFILL_INTERVAL] = resolved.refillInterval;
      new BigInt64Array(buffer)[DEBIT] = initialDebit(resolved.initialTokens);
      const words = new Int32Array(buffer);
      words[CLOCK_BASE] = resolved.clock === undefined ? DEFAULT_BASE : INJECTED_BASE;
      Atomics.store(words, MAGIC, MAGIC_VALUE);
    } else {
      buffer = attach.buffer;
      this.injectedClock = attach.clock;
    }
    const floats = new Float64Array(buffer);
    this.debitWord = new BigInt64Array(buffer);
    this.words = new Int32Array(buffer);
    this.capacity = floats[CAPACITY] ?? 0;
    this.schedule = {
      capacity: this.capacity,
      refillTokens: floats[REFILL_TOKENS] ?? 0,
      refillInterval: floats[REFILL_INTERVAL] ?? 0,
      origin: floats[ORIGIN] ?? 0,
    };
    this.params = { capacity: BigInt(this.capacity), refillTokens: BigInt(this.schedule.refillTokens) };
    this.nextStepAt = stepTime(this.schedule, 1);
    this.handle = Object.freeze({ buffer });
  }

  /**
   * Returns a bucket that draws from the same tokens as the one `handle` came from (`bucket.handle`,
   * possibly created in another thread). Cheap: it allocates no shared memory; call it once per thread.
   *
   * Throws `TypeError` when `handle` is not a handle of a shared bucket, or when `options.clock` does
   * not match how the bucket was created (an injected clock on one side only).
   */
  static from(handle: SharedTokenBucketHandle, options: SharedTokenBucketFromOptions = {}): SharedTokenBucketFilter {
    const buffer = (handle as Partial<SharedTokenBucketHandle> | null)?.buffer;
    if (
      typeof SharedArrayBuffer !== 'function' ||
      !(buffer instanceof SharedArrayBuffer) ||
      buffer.byteLength !== BYTES ||
      Atomics.load(new Int32Array(buffer), MAGIC) !== MAGIC_VALUE
    ) {
      throw new TypeError(`handle must be the handle of a SharedTokenBucketFilter, received ${describe(handle)}`);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`options must be an object, received ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== 'clock') throw new TypeError(`Unknown option ${describe(key)}; known options: clock`);
    }
    const clock = options.clock === undefined ? undefined : resolveOptions({ capacity: 1, clock: options.clock }).clock;
    const base = new Int32Array(buffer)[CLOCK_BASE];
    if ((base === INJECTED_BASE) !== (clock !== undefined)) {
      throw new TypeError(
        base === INJECTED_BASE
          ? 'This shared bucket was created with an injected clock: pass a clock on the same time base to from()'
          : 'This shared bucket was created with the default clock: from() must not be given a clock',
      );
    }
    attaching = { buffer, clock };
    return new SharedTokenBucketFilter({ capacity: 1 });
  }

  get available(): number {
    if (this.isClosed()) return 0;
    const now = this.now();
    this.advance(now);
    if (this.queue.length !== 0) this.grantDue();
    const tokens = tokensAt(this.params, Atomics.load(this.debitWord, DEBIT), this.stepTokens);
    return tokens > 0n ? Number(tokens) : 0;
  }

  get pending(): number {
    if (this.isClosed()) return 0;
    this.advance(this.now());
    if (this.queue.length !== 0) this.grantDue();
    return Atomics.load(this.words, PENDING);
  }

  tryGetToken(count = 1): boolean {
    if (this.isClosed()) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    this.advance(this.now());
    if (this.queue.length !== 0) this.grantDue();
    const wanted = count === 1 ? ONE : BigInt(count);
    let debit = Atomics.load(this.debitWord, DEBIT);
    for (;;) {
      const next = take(this.params, debit, this.stepTokens, wanted);
      if (next === undefined) return false;
      const seen = Atomics.compareExchange(this.debitWord, DEBIT, debit, next);
      if (seen === debit) return true;
      debit = seen; // another thread got there first: retry from what it wrote
    }
  }

  waitTime(count = 1): number {
    if (this.isClosed()) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const now = this.now();
    this.advance(now);
    if (this.queue.length !== 0) this.grantDue();
    const reservation = reserve(this.params, Atomics.load(this.debitWord, DEBIT), this.step, BigInt(count));
    if (reservation.step <= this.step) return 0;
    return Math.max(0, stepTime(this.schedule, reservation.step) - now);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    if (this.isClosed()) return Promise.reject(new BucketClosedError());
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) return Promise.reject(invalid);
    let request: GetTokenRequest;
    try {
      request = readGetTokenOptions(options);
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
    const { signal, maxWait } = request;

    const now = this.now();
    this.advance(now);
    if (this.queue.length !== 0) this.grantDue();
    const wanted = count === 1 ? ONE : BigInt(count);
    let before = Atomics.load(this.debitWord, DEBIT);
    for (;;) {
      const reservation = reserve(this.params, before, this.step, wanted);
      const grantAt = reservation.step <= this.step ? now : stepTime(this.schedule, reservation.step);
      if (maxWait !== undefined && grantAt - now > maxWait) {
        return Promise.reject(new MaxWaitExceededError(grantAt - now, maxWait));
      }
      const seen = Atomics.compareExchange(this.debitWord, DEBIT, before, reservation.debit);
      if (seen !== before) {
        before = seen; // another thread got there first: reserve again behind what it wrote
        continue;
      }
      if (reservation.step <= this.step) return GRANTED;
      Atomics.add(this.words, PENDING, 1);
      return new Promise<void>((resolve, reject) => {
        const waiter = new LocalReservation(
          count,
          reservation.step,
          before,
          reservation.debit,
          resolve,
          reject,
          signal,
        );
        if (signal !== undefined) {
          waiter.onAbort = () => {
            this.abort(waiter);
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        this.queue.push(waiter);
        if (this.queue.length === 1) {
          this.armTimer();
          this.watchClose();
        }
      });
    }
  }

  /**
   * Closes the bucket in every thread: rejects this thread's queued callers with `BucketClosedError`
   * and stops its timer at once; other threads reject theirs as soon as they notice (at once where
   * `Atomics.waitAsync` exists, otherwise within 1 s), and every later call in any thread fails with
   * `BucketClosedError`. Closing twice, or in two threads, is harmless.
   */
  close(): void {
    if (this.closedHere) return;
    Atomics.store(this.words, CLOSED, 1);
    Atomics.notify(this.words, CLOSED);
    this.closeHere();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The current time on the base all threads share, in ms. */
  private now(): number {
    const clock = this.injectedClock;
    if (clock !== undefined) return clock.performance.now();
    const performance = (globalClock() as unknown as { performance: Performance }).performance;
    // timeOrigin never changes for a given performance object, and reading it is slow (a getter).
    if (performance !== this.performanceSeen) {
      this.performanceSeen = performance;
      this.timeOrigin = performance.timeOrigin || 0;
    }
    return this.timeOrigin + performance.now();
  }

  /** Moves this thread's view of the current step to clock reading `now` (never backwards). */
  private advance(now: number): void {
    if (now < this.nextStepAt) return;
    const step = stepsAt(this.schedule, now);
    if (step <= this.step) return;
    this.step = step;
    this.stepTokens = BigInt(step) * this.params.refillTokens;
    this.nextStepAt = stepTime(this.schedule, step + 1);
  }

  /** Whether the bucket is closed, by this thread or another (then this thread's callers are rejected). */
  private isClosed(): boolean {
    if (this.closedHere) return true;
    if (Atomics.load(this.words, CLOSED) === 0) return false;
    this.closeHere();
    return true;
  }

  /** Rejects this thread's queued callers and stops its timer; the shared word is already closed. */
  private closeHere(): void {
    if (this.closedHere) return;
    this.closedHere = true;
    this.headTimer?.cancel();
    this.headTimer = undefined;
    const error = new BucketClosedError();
    for (const waiter of this.queue.takeAll()) {
      this.detach(waiter);
      waiter.reject(error);
    }
  }

  /**
   * Grants, in order, this thread's reservations whose step has come (call after {@link advance}).
   * Re-arms the timer when the head changed. Returns whether anyone was granted.
   */
  private grantDue(): boolean {
    let granted = 0;
    for (let head = this.queue.head; head !== undefined && head.step <= this.step; head = this.queue.head) {
      this.queue.remove(head);
      this.detach(head);
      granted += 1;
      head.resolve();
    }
    if (granted === 0) return false;
    Atomics.sub(this.words, PENDING, granted);
    this.armTimer();
    return true;
  }

  /** Sets the one timer of this thread for its earliest reservation, or none when nobody waits. */
  private armTimer(): void {
    this.headTimer?.cancel();
    this.headTimer = undefined;
    const head = this.queue.head;
    if (head === undefined) return;
    let delay = stepTime(this.schedule, head.step) - this.now();
    if (!this.canWatchClose()) delay = Math.min(delay, CLOSE_POLL_MS);
    // Timers round, cap and may fire early: wake() re-reads the clock and re-arms a head still early.
    this.headTimer = ClockTimer.timeout(this.injectedClock ?? globalClock(), this.wake, delay);
  }

  private readonly wake = (): void => {
    this.headTimer = undefined;
    if (this.isClosed()) return;
    this.advance(this.now());
    if (!this.grantDue()) this.armTimer();
  };

  private canWatchClose(): boolean {
    return typeof (Atomics as { waitAsync?: unknown }).waitAsync === 'function';
  }

  /**
   * Waits (without a timer, and without keeping the process alive) for another thread to close the
   * bucket, while this thread has callers queued. One such wait per instance at most, renewed every
   * {@link CLOSE_WATCH_MS} while callers wait, so that it never holds a dropped bucket for long.
   */
  private watchClose(): void {
    if (this.watchingClose || !this.canWatchClose()) return;
    const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
    const result = waitAsync(this.words, CLOSED, 0, CLOSE_WATCH_MS);
    if (!result.async) {
      this.isClosed();
      return;
    }
    this.watchingClose = true;
    void result.value.then(() => {
      this.watchingClose = false;
      if (!this.isClosed() && this.queue.length !== 0) this.watchClose();
    });
  }

  /**
   * A queued caller's signal aborted: reject it, and give its tokens back if that cannot let anyone
   * exceed the schedule, that is when no other thread has drawn from the bucket since it reserved
   * (see `withdraw()`). Then the callers of this thread behind it are re-reserved from where it stood
   * and move up. Otherwise its step passes unused.
   */
  private abort(waiter: LocalReservation): void {
    waiter.onAbort = undefined;
    if (this.isClosed()) return; // closeHere() rejected it
    this.advance(this.now());
    this.grantDue();
    if (waiter.prev === undefined && this.queue.head !== waiter) return; // granted just now: the abort is late
    const chain: LocalReservation[] = [];
    for (let item: LocalReservation | undefined = waiter; item !== undefined; item = item.next) chain.push(item);
    this.queue.remove(waiter);
    Atomics.sub(this.words, PENDING, 1);
    waiter.reject(waiter.signal?.reason);
    const debit = Atomics.load(this.debitWord, DEBIT);
    const withdrawal = withdraw(this.params, debit, this.step, chain);
    if (withdrawal !== undefined && Atomics.compareExchange(this.debitWord, DEBIT, debit, withdrawal.debit) === debit) {
      let before = waiter.before;
      withdrawal.moved.forEach((reservation, index) => {
        const item = chain[index + 1];
        if (item === undefined) return;
        item.step = reservation.step;
        item.before = before;
        item.after = reservation.debit;
        before = reservation.debit;
      });
    }
    if (!this.grantDue()) this.armTimer();
  }

  private detach(waiter: LocalReservation): void {
    if (waiter.onAbort !== undefined) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }
}
