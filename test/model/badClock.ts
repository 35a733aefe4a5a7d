import type { Clock } from '../../src/clock.js';
import type { FakeClock } from '../support/clock.js';

/**
 * Readings that are not valid clock readings: a valid one is a finite number with |reading| ≤ 2^42 ms.
 * 2^42 + 0.5 is the smallest kind of overshoot.
 */
export const INVALID_READINGS: readonly number[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 43,
  -(2 ** 43),
  2 ** 42 + 0.5,
];

/**
 * BadReadingClock is a clock over a fake-timers clock whose `performance.now()` returns
 * {@link BadReadingClock.bad} instead of the fake time while it is set: a way to give a bucket invalid
 * clock readings for a call or a stretch of fake time, then valid ones again. Timers are the fake
 * clock's.
 */
export class BadReadingClock implements Clock {
  /** The reading every `performance.now()` returns while set; the fake time when undefined. */
  bad: number | undefined = undefined;
  /** How many bad readings were served. */
  badServed = 0;
  readonly performance = {
    now: (): number => {
      if (this.bad === undefined) return this.fake.performance.now();
      this.badServed += 1;
      return this.bad;
    },
  };

  constructor(readonly fake: FakeClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    return this.fake.setTimeout(callback, ms);
  }

  clearTimeout(handle: never): void {
    this.fake.clearTimeout(handle);
  }

  setInterval(callback: () => void, ms: number): unknown {
    return this.fake.setInterval(callback, ms);
  }

  clearInterval(handle: never): void {
    this.fake.clearInterval(handle);
  }

  /** Runs `action` with every reading `reading`, then makes readings valid again. */
  withReading<T>(reading: number, action: () => T): T {
    this.bad = reading;
    try {
      return action();
    } finally {
      this.bad = undefined;
    }
  }
}
