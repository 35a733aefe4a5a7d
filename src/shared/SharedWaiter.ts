import { Waiter, type WaiterExtras } from '../core/WaiterQueue.js';
import type { Snapshot } from './SharedLimits.js';

/**
 * A shared bucket's waiter: one `getToken()` caller of this thread whose tokens are reserved in the
 * shared state, and what a re-plan that refuses one hands back.
 */

/**
 * One `getToken()` call of this thread that holds a reservation in the shared state: its tokens are
 * taken at `grantAt`, behind every reservation made before it in any thread. A core `Waiter`, so that
 * the core's waiting code holds it as it is.
 */
export class SharedWaiter extends Waiter {
  /** Where the shared state stood just before this reservation (to give it back). */
  before: Snapshot = [];
  /** The state's write sequence right after this reservation was written. */
  sequence = 0;
  /** The configuration generation the reservation was made (or last re-planned) at. */
  generation = 0;

  /**
   * @param tokens tokens reserved (the core may overwrite `count` when the waiter leaves a queue)
   * @param grantAt clock reading (ms) of the grant; moves when the reservation is re-planned
   * @param resolve settles the caller's promise, granted
   * @param extras the caller's `reject`, signal and `maxWait`, when it has a signal or a `maxWait`
   */
  constructor(
    readonly tokens: number,
    public grantAt: number,
    resolve: () => void,
    extras: WaiterExtras | undefined,
  ) {
    super(tokens, resolve, extras);
  }
}

/** A waiter that a re-plan refused, and what it must be rejected with. */
export type Refusal = readonly [waiter: SharedWaiter, error: Error];
