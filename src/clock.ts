/**
 * Clock is where a bucket reads time and sets timers: anything shaped like `globalThis`.
 *
 * `globalThis`, a `@sinonjs/fake-timers` `createClock()` result, vitest's or Jest's faked globals and a
 * hand-written object all fit. Methods are declared in shorthand so that their overloaded or narrower
 * parameter types are accepted.
 *
 * `performance.now()` must be monotonic and in milliseconds; a clock that steps backwards never
 * creates tokens (the bucket ignores time that goes back). Timer handles are opaque: whatever
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

/** The clock used when a bucket was given none: `globalThis`, looked up at each use. */
export function globalClock(): Clock {
  return globalThis;
}

interface RefCountedHandle {
  ref?(): unknown;
  unref?(): unknown;
}

/**
 * A timer set on a specific clock, remembered with that clock so it is always cleared by the clock
 * that set it (even if global fake timers are installed or removed meanwhile).
 */
export class ClockTimer {
  private constructor(
    private readonly clock: Clock,
    private readonly handle: unknown,
    private readonly repeating: boolean,
  ) {}

  /** Sets a one-shot timer of `ms` (rounded up to whole ms, capped at {@link MAX_TIMER_DELAY}). */
  static timeout(clock: Clock, callback: () => void, ms: number): ClockTimer {
    return new ClockTimer(clock, clock.setTimeout(callback, timerDelay(ms)), false);
  }

  /** Sets a repeating timer every `ms` (rounded up to whole ms, capped at {@link MAX_TIMER_DELAY}). */
  static interval(clock: Clock, callback: () => void, ms: number): ClockTimer {
    return new ClockTimer(clock, clock.setInterval(callback, timerDelay(ms)), true);
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
    if (this.repeating) this.clock.clearInterval(this.handle as never);
    else this.clock.clearTimeout(this.handle as never);
  }
}

/** Rounds a wait up to whole ms, at least 1 and at most {@link MAX_TIMER_DELAY}. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(Math.ceil(ms), 1), MAX_TIMER_DELAY);
}
