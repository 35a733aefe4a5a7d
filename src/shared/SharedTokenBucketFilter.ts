import { ClockRetry, ClockTimer, globalClock, readClock, tryReadClock, type Clock } from '../clock.js';
import { deferred } from '../core/deferred.js';
import { stepTime, stepsAt, type RefillSchedule } from '../core/refill.js';
import { SignalWatch, type AbortOwner } from '../core/SignalWatch.js';
import { WaiterExtras, type Waiter } from '../core/WaiterQueue.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { resolveOptions } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import { checkCount, readGetTokenOptions, type GetTokenRequest } from '../options/requestOptions.js';
import type { GetTokenOptions, TokenBucketFilter, TokenBucketOptions } from '../TokenBucketFilter.js';
import { LocalReservation, ReservationQueue } from './ReservationQueue.js';
import { initialDebit, MAX_DEBIT, reserve, take, tokensAt, withdraw, type DebitParams } from './state.js';

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

const GRANTED: Promise<void> = Promise.resolve();
const ONE = 1n;

/**
 * The buffer and clock `from()` attaches to, handed to the constructor it calls (synchronously, so
 * nothing else can observe it); undefined when the constructor is called by a user.
 */
let attaching: { buffer: SharedArrayBuffer; clock: Clock | undefined } | undefined;

/** The global `performance` last read by {@link epochClock}, and its `timeOrigin`. */
let performanceSeen: object | undefined;
let timeOrigin = 0;

/**
 * The default clock's readings, on the base every thread of the process shares:
 * `performance.timeOrigin + performance.now()` of the global `performance`, looked up at each reading
 * (about 1.7 × 10^12 ms today, well inside the ±2^42 ms that `readClock` accepts). A `performance.now()`
 * that returns something other than a number is passed on untouched, so that `readClock` refuses it as
 * what it is (NaN and ±Infinity stay what they are in the sum). Only its `performance` is used: timers
 * are set on `globalThis` itself, so that each is cleared by the function that set it.
 */
const epochClock: Clock = {
  performance: {
    now(): number {
      const performance = globalClock().performance as { now(): unknown; timeOrigin?: number };
      // timeOrigin never changes for a given performance object, and reading it is slow (a getter).
      if (performance !== performanceSeen) {
        performanceSeen = performance;
        timeOrigin = performance.timeOrigin || 0;
      }
      const reading = performance.now();
      return typeof reading === 'number' ? timeOrigin + reading : (reading as number);
    },
  },
  setTimeout: (callback, ms) => globalClock().setTimeout(callback, ms),
  clearTimeout: (handle) => {
    globalClock().clearTimeout(handle);
  },
  setInterval: (callback, ms) => globalClock().setInterval(callback, ms),
  clearInterval: (handle) => {
    globalClock().clearInterval(handle);
  },
};

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
 * or the injected clock's `performance.now()`. A reading that is not a finite number within ±2^42 ms
 * is refused as every bucket refuses it (`InvalidClockReadingError`): nothing is reserved or taken on
 * it, and a thread whose timer wakes on one looks again shortly.
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
 * `TokenBucketOptions`; the same options and messages as every bucket), when `SharedArrayBuffer` is
 * unavailable, and `InvalidClockReadingError` when the clock's reading is invalid.
 */
export class SharedTokenBucketFilter implements TokenBucketFilter {
  readonly capacity: number;
  /** Send this to a worker (`postMessage`, `workerData`) and pass it to {@link SharedTokenBucketFilter.from}. */
  readonly handle: SharedTokenBucketHandle;
  private readonly debitWord: BigInt64Array;
  private readonly words: Int32Array;
  /** The schedule; its `refillTokens` is the step size, `min(refillTokens, capacity)` (see `MAX_DEBIT`). */
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
  /** Paces this thread's timer while the clock gives invalid readings; created on the first one. */
  private clockRetry: ClockRetry | undefined = undefined;
  /** The abort listeners of this thread's callers: one per signal; created on first use. */
  private signals: SignalWatch | undefined = undefined;
  /** Whether an abort is being delivered (between the first `dropAborted` and `afterAborts`). */
  private aborting = false;
  private watchingClose = false;
  private closedHere = false;
  /** Told by {@link SignalWatch} when a signal aborts; kept off the public surface. */
  private readonly abortOwner: AbortOwner = {
    dropAborted: (waiter, reason) => {
      this.dropAborted(waiter, reason);
    },
    afterAborts: () => {
      this.afterAborts();
    },
  };

  /**
   * Creates a bucket in a new `SharedArrayBuffer`, with a full bucket (or `initialTokens`) at this
   * instant. Options as for every bucket (`TokenBucketOptions`), read as own properties only; with
   * `clock`, every thread that uses the bucket must pass the same kind of clock to
   * {@link SharedTokenBucketFilter.from}.
   */
  constructor(options: TokenBucketOptions) {
    const attach = attaching;
    attaching = undefined;
    let buffer: SharedArrayBuffer;
    if (attach === undefined) {
      const input: unknown = options; // from untyped callers too
      if (typeof input === 'object' && input !== null && ownOption(input, 'kind') !== undefined) {
        throw new TypeError(`Unknown option "kind" for a SharedTokenBucketFilter`);
      }
      const resolved = resolveOptions(options);
      if (typeof SharedArrayBuffer !== 'function') {
        throw new TypeError(
          'SharedArrayBuffer is not available here (in a browser, the page must be cross-origin isolated)',
        );
      }
      this.injectedClock = resolved.clock;
      const origin = this.now();
      buffer = new SharedArrayBuffer(BYTES);
      const floats = new Float64Array(buffer);
      floats[ORIGIN] = origin;
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
    // Tokens beyond the capacity are discarded at every step, so a step of min(refillTokens, capacity)
    // is observably the same as one of refillTokens, and keeps the debit within 64 bits (MAX_DEBIT).
    const stepSize = Math.min(floats[REFILL_TOKENS] ?? 0, this.capacity);
    this.schedule = {
      capacity: this.capacity,
      refillTokens: stepSize,
      refillInterval: floats[REFILL_INTERVAL] ?? 0,
      origin: floats[ORIGIN] ?? 0,
    };
    this.params = { capacity: BigInt(this.capacity), refillTokens: BigInt(stepSize) };
    this.nextStepAt = stepTime(this.schedule, 1);
    this.handle = Object.freeze({ buffer });
  }

  /**
   * Returns a bucket that draws from the same tokens as the one `handle` came from (`bucket.handle`,
   * possibly created in another thread). Cheap: it allocates no shared memory; call it once per thread.
   * `handle.buffer` and `options.clock` are read as own properties only.
   *
   * Throws `TypeError` when `handle` is not a handle of a shared bucket, or when `options.clock` does
   * not match how the bucket was created (an injected clock on one side only).
   */
  static from(handle: SharedTokenBucketHandle, options: SharedTokenBucketFromOptions = {}): SharedTokenBucketFilter {
    const input: unknown = handle; // from untyped callers too
    const buffer = typeof input === 'object' && input !== null ? ownOption(input, 'buffer') : undefined;
    if (
      typeof SharedArrayBuffer !== 'function' ||
      !(buffer instanceof SharedArrayBuffer) ||
      buffer.byteLength !== BYTES ||
      Atomics.load(new Int32Array(buffer), MAGIC) !== MAGIC_VALUE
    ) {
      throw new TypeError(`handle must be the handle of a SharedTokenBucketFilter, received ${formatValue(handle)}`);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`options must be an object, received ${formatValue(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== 'clock') throw new TypeError(`Unknown option ${formatValue(key)}; known options: clock`);
    }
    const given = ownOption(options, 'clock');
    const clock = given === undefined ? undefined : resolveOptions({ capacity: 1, clock: given }).clock;
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
    this.catchUp(tryReadClock(this.timeClock));
    const tokens = tokensAt(this.params, Atomics.load(this.debitWord, DEBIT), this.stepTokens);
    return tokens > 0n ? Number(tokens) : 0;
  }

  get pending(): number {
    if (this.isClosed()) return 0;
    this.catchUp(tryReadClock(this.timeClock));
    return Atomics.load(this.words, PENDING);
  }

  tryGetToken(count = 1): boolean {
    if (this.isClosed()) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    this.catchUp(this.now());
    const wanted = count === 1 ? ONE : BigInt(count);
    let debit = Atomics.load(this.debitWord, DEBIT);
    for (;;) {
      const next = take(this.params, debit, this.stepTokens, wanted);
      if (next === undefined) return false;
      if (next > MAX_DEBIT) throw beyondTheWord(count);
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
    this.catchUp(now);
    const reservation = reserve(this.params, Atomics.load(this.debitWord, DEBIT), this.step, BigInt(count));
    if (reservation.step <= this.step) return 0;
    return Math.max(0, stepTime(this.schedule, reservation.step) - now);
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      if (this.isClosed()) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      const request = readGetTokenOptions(options);
      return this.takeOrReserve(count, request, this.now());
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
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

  /** Where this thread reads time: the injected clock, or the shared epoch base. */
  private get timeClock(): Clock {
    return this.injectedClock ?? epochClock;
  }

  /** The current time on the base all threads share, in ms. Throws `InvalidClockReadingError`. */
  private now(): number {
    return readClock(this.timeClock);
  }

  /**
   * `getToken()` at clock reading `now`, once the bucket is open and `count` and the options valid:
   * takes the tokens now, or reserves them at the step of their grant and waits. Throws (the caller
   * rejects with it) what the signal's `addEventListener` throws, having reserved nothing.
   */
  private takeOrReserve(count: number, request: GetTokenRequest, now: number): Promise<void> {
    const { signal, maxWait } = request;
    this.catchUp(now);
    const wanted = count === 1 ? ONE : BigInt(count);
    let waiter: LocalReservation | undefined;
    let promise: Promise<void> | undefined;
    let before = Atomics.load(this.debitWord, DEBIT);
    for (;;) {
      const reservation = reserve(this.params, before, this.step, wanted);
      const grantedNow = reservation.step <= this.step;
      const grantAt = grantedNow ? now : stepTime(this.schedule, reservation.step);
      if (maxWait !== undefined && grantAt - now > maxWait) {
        this.forget(waiter);
        return Promise.reject(new MaxWaitExceededError(grantAt - now, maxWait));
      }
      if (reservation.debit > MAX_DEBIT) {
        this.forget(waiter);
        return Promise.reject(beyondTheWord(count));
      }
      if (!grantedNow && waiter === undefined) {
        const settle = deferred();
        promise = settle.promise;
        const { resolve, reject } = settle;
        const extras =
          signal === undefined
            ? undefined
            : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, this.abortOwner);
        waiter = new LocalReservation(count, reservation.step, before, reservation.debit, resolve, reject, extras);
        // Watched before anything is reserved: a signal whose addEventListener throws changes nothing.
        if (signal !== undefined) (this.signals ??= new SignalWatch()).watch(waiter, signal);
      }
      const seen = Atomics.compareExchange(this.debitWord, DEBIT, before, reservation.debit);
      if (seen !== before) {
        before = seen; // another thread got there first: reserve again behind what it wrote
        continue;
      }
      if (grantedNow || waiter === undefined || promise === undefined) {
        this.forget(waiter);
        return GRANTED;
      }
      waiter.step = reservation.step;
      waiter.before = before;
      waiter.after = reservation.debit;
      Atomics.add(this.words, PENDING, 1);
      this.queue.push(waiter);
      if (this.queue.length === 1) {
        this.armTimer(now);
        this.watchClose();
      }
      return promise;
    }
  }

  /**
   * Brings this thread up to clock reading `now` (undefined: an invalid reading, which changes nothing)
   * and grants its reservations that are due.
   */
  private catchUp(now: number | undefined): void {
    if (now !== undefined) this.advance(now);
    if (this.queue.length !== 0) this.grantDue(now);
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
      this.forget(waiter);
      if (!waiter.aborted) waiter.reject(error);
    }
  }

  /**
   * Grants, in order, this thread's reservations whose step has come (call after {@link advance});
   * `now` is the reading it was brought to (undefined: invalid). Re-arms the timer when the head
   * changed. Returns whether anyone was granted.
   */
  private grantDue(now: number | undefined): boolean {
    let granted = 0;
    for (let head = this.queue.head; head !== undefined && head.step <= this.step; head = this.queue.head) {
      this.queue.remove(head);
      this.forget(head);
      granted += 1;
      head.resolve();
    }
    if (granted === 0) return false;
    Atomics.sub(this.words, PENDING, granted);
    this.armTimer(now);
    return true;
  }

  /**
   * Sets the one timer of this thread for its earliest reservation, or none when nobody waits. `now` is
   * the clock reading the bucket was just brought to; when it is undefined (invalid), the timer cannot
   * tell how long to sleep and looks again after a {@link ClockRetry} delay.
   */
  private armTimer(now: number | undefined): void {
    this.headTimer?.cancel();
    this.headTimer = undefined;
    const head = this.queue.head;
    if (head === undefined) return;
    let delay: number;
    if (now === undefined) {
      delay = (this.clockRetry ??= new ClockRetry()).next();
    } else {
      this.clockRetry?.reset();
      delay = stepTime(this.schedule, head.step) - now;
    }
    if (!this.canWatchClose()) delay = Math.min(delay, CLOSE_POLL_MS);
    // Timers round, cap and may fire early: wake() re-reads the clock and re-arms a head still early.
    this.headTimer = ClockTimer.timeout(this.injectedClock ?? globalClock(), this.wake, delay);
  }

  private readonly wake = (): void => {
    this.headTimer = undefined;
    if (this.isClosed()) return;
    const now = tryReadClock(this.timeClock);
    if (now !== undefined) this.advance(now);
    if (!this.grantDue(now)) this.armTimer(now);
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
   * A queued caller's signal aborted (one of possibly many callers of that signal, all told in queue
   * order before {@link afterAborts}): reject it with `reason` at once, and mark it so that
   * `afterAborts()` takes it out of the queue. The first of an abort first grants what is due, so that
   * an abort that comes after its caller's grant instant is late and changes nothing.
   */
  private dropAborted(waiter: Waiter, reason: unknown): void {
    if (!(waiter instanceof LocalReservation) || this.isClosed()) return; // closeHere() rejected it
    if (!this.aborting) {
      this.aborting = true;
      this.catchUp(tryReadClock(this.timeClock));
    }
    if (!this.queue.has(waiter) || waiter.aborted) return; // granted just now: the abort is late
    waiter.aborted = true;
    Atomics.sub(this.words, PENDING, 1);
    waiter.reject(reason); // untouched, whatever it is
  }

  /**
   * After an abort: takes the aborted callers out of the queue, and gives their tokens back if that
   * cannot let anyone exceed the schedule, that is when no other thread has drawn from the bucket since
   * the first of them reserved (see `withdraw()`): then the callers of this thread behind them are
   * re-reserved from where it stood and move up. Otherwise their steps pass unused.
   */
  private afterAborts(): void {
    this.aborting = false;
    if (this.isClosed()) return;
    let first = this.queue.head;
    while (first !== undefined && !first.aborted) first = first.next;
    if (first === undefined) return;
    const chain: LocalReservation[] = [];
    for (let item: LocalReservation | undefined = first; item !== undefined; item = item.next) chain.push(item);
    const debit = Atomics.load(this.debitWord, DEBIT);
    const withdrawal = withdraw(this.params, debit, this.step, chain, (item) => item.aborted);
    if (withdrawal !== undefined && Atomics.compareExchange(this.debitWord, DEBIT, debit, withdrawal.debit) === debit) {
      let before = first.before;
      let index = 0;
      for (const item of chain) {
        if (item.aborted) continue;
        const moved = withdrawal.moved[index];
        index += 1;
        if (moved === undefined) break;
        item.step = moved.step;
        item.before = before;
        item.after = moved.debit;
        before = moved.debit;
      }
    }
    for (const item of chain) if (item.aborted) this.queue.remove(item);
    const now = tryReadClock(this.timeClock);
    if (now !== undefined) this.advance(now);
    if (!this.grantDue(now)) this.armTimer(now);
  }

  /** Forgets `waiter`'s signal, if it has one, when it leaves the queue (or never joins it). */
  private forget(waiter: LocalReservation | undefined): void {
    if (waiter?.extras !== undefined) this.signals?.forget(waiter);
  }
}

/** The refusal of a take or reservation whose debit the shared 64-bit word cannot hold (see `MAX_DEBIT`). */
function beyondTheWord(count: number): RangeError {
  return new RangeError(
    `${count} token(s) would be granted more than 2^63 tokens after the bucket's creation (2^43 ms or more after it, at the fastest rate), beyond the shared 64-bit state: nothing was taken or reserved`,
  );
}
