import { globalClock, type Clock } from '../clock.js';

/** The global `performance` last read by {@link epochClock}, and its `timeOrigin`. */
let performanceSeen: object | undefined;
let timeOrigin = 0;

/**
 * The default clock of a shared bucket: readings on the base every thread of the process shares,
 * `performance.timeOrigin + performance.now()` of the global `performance`, looked up at each reading
 * (about 1.7 × 10^12 ms today, well inside the ±2^42 ms that `readClock` accepts). A `performance.now()`
 * that returns something other than a number is passed on untouched, so that `readClock` refuses it as
 * what it is (NaN and ±Infinity stay what they are in the sum). Only its `performance` is used: timers
 * are set on `globalThis` itself, so that each is cleared by the function that set it.
 */
export const epochClock: Clock = {
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
