import { InvalidClockReadingError, MAX_CLOCK_READING } from './errors.js';

/**
 * Clock is where a bucket reads time and sets timers: anything shaped like `globalThis`.
 *
 * `globalThis`, a `@sinonjs/fake-timers` `createClock()` result, vitest's or Jest's faked globals and a
 * hand-written object all fit. Methods are declared in shorthand so that their overloaded or narrower
 * parameter types are accepted.
 *
 * `performance.now()` must be monotonic and in milliseconds; a clock that steps backwards never
 * creates tokens (the bucket ignores time that goes back), and a reading that is not a finite number
 * within ±2^42 ms is refused with `InvalidClockReadingError` (nothing is granted on it). Timer handles are opaque: whatever
 * `setTimeout`/`setInterval` return is handed back to `clearTimeout`/`clearInterval` of the same clock,
 * and `ref()`/`unref()` are called on it when it has them (Node's `Timeout`, fake-timers' timers).
 */
export interface Clock {
  performance: { now(): number };
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: never): void;
}

/**
 * MAX_TIMER_DELAY is the longest delay, in ms, that timers honour (2^31 − 1, about 24.8 days).
 * Node turns any longer delay into 1 ms, so longer waits are split into timers no longer than this.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The clock of node:test's mock timers (`mock.timers.enable()`, whose default mocks `Date` too): they
 * mock no `performance.now()` and mark no clock, but their `Date` says `isMock`, and its `Date.now()`
 * moves with `tick()`. Timers are the (mocked) global ones, looked up at each use.
 */
const nodeMockTimersClock: Clock = {
  performance: { now: () => Date.now() },
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle);
  },
  setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
  clearInterval: (handle) => {
    globalThis.clearInterval(handle);
  },
};

/** Whether node:test's mock timers have replaced `Date` (its `isMock` is true). */
export function nodeMockDate(): boolean {
  return (globalThis.Date as { isMock?: unknown } | undefined)?.isMock === true;
}

/**
 * The clock used when a bucket was given none, looked up at each use: the `@sinonjs/fake-timers` clock
 * that the global timers belong to when fake timers are installed (vitest's `vi.useFakeTimers()`,
 * Jest's modern timers and sinon's `install()` all use it, and it marks the functions it installs with
 * a `clock` property); node:test's mock timers when they mock `Date` (the mocked `Date.now()` and the
 * mocked global timers); and `globalThis` otherwise. Reading the fake clock's own `performance.now()`
 * makes a bucket follow fake timers that leave the global `performance` alone (vitest 2's defaults,
 * sinon with `toFake` limited to timers). Without fake timers it is `globalThis`: `performance.now()`,
 * never the wall clock (`Date.now()` is read only while node:test has mocked it).
 */
export function globalClock(): Clock {
  const timer = globalThis.setTimeout as { clock?: Partial<Clock> } | undefined;
  let fake = timer?.clock;
  // Own property only (fake timers set it on the function they install): a polluted prototype is no clock.
  if (fake !== undefined && !Object.hasOwn(timer as object, 'clock')) fake = undefined;
  if (
    typeof fake === 'object' &&
    typeof fake.performance?.now === 'function' &&
    typeof fake.setTimeout === 'function'
  ) {
    return fake as Clock;
  }
  return nodeMockDate() ? nodeMockTimersClock : globalThis;
}

/**
 * Returns `clock.performance.now()`, or throws {@link InvalidClockReadingError} when the reading is not
 * a finite number within ±{@link MAX_CLOCK_READING} ms (NaN, ±Infinity, a non-number). Every reading a
 * bucket acts on goes through here, so that no broken reading can grant or mint tokens.
 */
export function readClock(clock: Clock): number {
  const now = clock.performance.now();
  // NaN and non-numbers fail both comparisons.
  if (typeof now === 'number' && now <= MAX_CLOCK_READING && now >= -MAX_CLOCK_READING) return now;
  throw new InvalidClockReadingError(now);
}

/**
 * Returns `clock.performance.now()` when it is a valid reading (see {@link readClock}), or undefined
 * when it is not or the clock throws: for the paths that must not fail (getters, timer callbacks).
 */
export function tryReadClock(clock: Clock): number | undefined {
  try {
    return readClock(clock);
  } catch {
    return undefined;
  }
}

/**
 * ClockRetry paces the timers of a bucket that woke on an invalid clock reading and so cannot tell how
 * long to sleep: 1 ms at first, doubling up to 1 s while the readings stay invalid. A bucket on a
 * broken clock neither spins nor sleeps long once the clock is mended.
 */
export class ClockRetry {
  private delay = 0;

  /** Returns the next retry delay (ms). */
  next(): number {
    this.delay = Math.min(Math.max(1, this.delay * 2), 1000);
    return this.delay;
  }

  /** Called on a valid reading: the next retry starts again from 1 ms. */
  reset(): void {
    this.delay = 0;
  }
}

interface RefCountedHandle {
  ref?(): unknown;
  unref?(): unknown;
}

/**
 * A timer set on a specific clock, remembered with the clear function of that clock as it was when the
 * timer was set: it is always cleared by the timer API that set it, even if global fake timers are
 * installed or removed meanwhile (with the default clock, `globalThis.clearTimeout` may by then be
 * another function, which would not know the handle).
 */
export class ClockTimer {
  private constructor(
    private readonly clock: Clock,
    private readonly clear: (handle: never) => void,
    private readonly handle: unknown,
  ) {}

  /** Sets a one-shot timer of `ms` (rounded up to whole ms, capped at {@link MAX_TIMER_DELAY}). */
  static timeout(clock: Clock, callback: () => void, ms: number): ClockTimer {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called on `clock` (cancel() uses .call)
    const clear = clock.clearTimeout;
    return new ClockTimer(clock, clear, clock.setTimeout(callback, timerDelay(ms)));
  }

  /** Sets a repeating timer every `ms` (rounded up to whole ms, capped at {@link MAX_TIMER_DELAY}). */
  static interval(clock: Clock, callback: () => void, ms: number): ClockTimer {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called on `clock` (cancel() uses .call)
    const clear = clock.clearInterval;
    return new ClockTimer(clock, clear, clock.setInterval(callback, timerDelay(ms)));
  }

  /** Lets the timer keep the process alive (`keepAlive`) or not; a no-op where timers have no ref. */
  keepAlive(keepAlive: boolean): void {
    const handle = this.handle as RefCountedHandle | null;
    if (typeof handle !== 'object' || handle === null) return;
    if (keepAlive) handle.ref?.();
    else handle.unref?.();
  }

  /** Cancels the timer. Cancelling twice is harmless. */
  cancel(): void {
    // Called on the clock, as a method: a hand-written clock may use `this`.
    this.clear.call(this.clock, this.handle as never);
  }
}

/** Rounds a wait up to whole ms, at least 1 and at most {@link MAX_TIMER_DELAY} (NaN counts as 1). */
export function timerDelay(ms: number): number {
  return ms > 1 ? Math.min(Math.ceil(ms), MAX_TIMER_DELAY) : 1;
}
