import { globalClock } from '../clock.js';
import { epochClockOf } from '../epochClock.js';

/**
 * The default clock of a shared bucket: epoch milliseconds on the base every thread of the process
 * shares (see {@link epochClockOf}), of the default clock's `performance` (`globalClock()`: the fake
 * timers' clock when they are installed), with its timers.
 */
export const epochClock = /* @__PURE__ */ epochClockOf(globalClock);
