import { epochClockOf } from '../epochClock.js';
import { Waiter, type WaiterExtras } from '../core/WaiterQueue.js';
import type { Reservation } from './protocol.js';

/**
 * Epoch milliseconds, monotonic within the process: the default time of `timeSource: 'client'`
 * (see {@link epochClockOf}), of the global `performance` itself (never a fake clock's), with the
 * global timers.
 */
export const epochClock = /* @__PURE__ */ epochClockOf(() => globalThis);

/**
 * One `getToken()` call of a Redis bucket, from the call until it settles, and after that while its
 * tokens may still be given back. A core `Waiter`, so that the core's `SignalWatch` holds it as it is.
 */
export class Call extends Waiter {
  /** `'sending'`: the script has not answered; `'sleeping'`: reserved, waiting locally; `'done'`: settled. */
  state: 'sending' | 'sleeping' | 'done' = 'sending';
  /** Whether it was aborted (or failed, or refused) before its grant, so that its tokens, if any, should go back. */
  unwanted = false;
  /** What it holds in Redis, while that is known and not given back. */
  reservation: Reservation | undefined = undefined;
  /** Reading (ms) of the bucket's time clock at which a sleeping call is granted. */
  deadline = 0;
  /**
   * Whether Redis said no pause voided its reservation (so it may be granted at its deadline; see
   * `Pauses.ready`), and whether that check is in flight.
   */
  confirmed = false;
  confirming = false;
  /**
   * The number of the bucket's pause-notice subscription under which its reservation was made or last
   * checked (see `PauseWatch`); 0: none.
   */
  watch = 0;

  constructor(
    /** The bucket's takes are numbered in the order they are sent, from 1. */
    readonly seq: number,
    count: number,
    resolve: () => void,
    extras: WaiterExtras | undefined,
    readonly reject: (reason: unknown) => void,
    /** The caller's `maxWait` (ms), if any. */
    readonly maxWait: number | undefined,
    /** Reading (ms) of the bucket's time clock at the call, from which `maxWait` counts. */
    readonly calledAt: number,
  ) {
    super(count, resolve, extras);
  }

  /** Whether it holds tokens in Redis that nobody will use. */
  get dead(): boolean {
    return this.state === 'done' && this.unwanted && this.reservation !== undefined;
  }
}
