import type { Clock } from './clock.js';

/**
 * Returns a clock that reads epoch milliseconds, `performance.timeOrigin + performance.now()` of the
 * `performance` of `source()` (about 1.7 × 10^12 ms today, well inside the ±2^42 ms that `readClock`
 * accepts): the base every thread and process shares, which the shared and Redis buckets count on.
 * `source` is looked up at each reading and each timer call, so fake timers installed after import
 * are followed when it follows them. A `performance.now()` that returns something other than a number
 * is passed on untouched, so that `readClock` refuses it as what it is (NaN and ±Infinity stay what
 * they are in the sum). `timeOrigin` is read once per `performance` object (it never changes, and its
 * getter is slow).
 */
export function epochClockOf(source: () => Clock): Clock {
  let performanceSeen: object | undefined;
  let timeOrigin = 0;
  return {
    performance: {
      now(): number {
        const performance = source().performance as { now(): unknown; timeOrigin?: number };
        if (performance !== performanceSeen) {
          performanceSeen = performance;
          timeOrigin = performance.timeOrigin || 0;
        }
        const reading = performance.now();
        return typeof reading === 'number' ? timeOrigin + reading : (reading as number);
      },
    },
    setTimeout: (callback, ms) => source().setTimeout(callback, ms),
    clearTimeout: (handle) => {
      source().clearTimeout(handle);
    },
    setInterval: (callback, ms) => source().setInterval(callback, ms),
    clearInterval: (handle) => {
      source().clearInterval(handle);
    },
  };
}
