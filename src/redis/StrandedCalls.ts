/**
 * Which aborted calls of a Redis bucket have their reservation given back as stranded (below someone
 * else's, through {@link Stranded}), and which must not be: those in a withdraw that may have run.
 */
import type { BucketKey } from './BucketKey.js';
import type { Call } from './calls.js';
import { Stranded } from './Stranded.js';

/**
 * StrandedCalls hands the reservations of aborted calls below someone else's to a {@link Stranded},
 * except those of calls in a withdraw that failed or timed out: that withdraw may have run (its reply
 * may yet come), and giving them back as stranded too could give them back twice.
 */
export class StrandedCalls {
  /** Aborted reservations below someone else's, given back without moving anyone where that is exact. */
  private readonly stranded: Stranded;
  /**
   * Calls in withdraws that failed or timed out (how many, until their late replies), which may have
   * run: never given back as stranded, which could give them back twice.
   */
  private readonly unsure = new WeakMap<Call, number>();

  /** `returned`: a return moved the tail of `origin` from generation `from` to `to` (see `Stranded`). */
  constructor(key: BucketKey, returned: (origin: number, from: number, to: number) => void) {
    this.stranded = new Stranded(key, returned);
  }

  /** Hands `call`'s reservation (aborted, below someone else's) to {@link stranded}, unless a withdraw that may have run holds it. */
  strand(call: Call): void {
    const reservation = call.reservation;
    call.reservation = undefined;
    if (reservation !== undefined && (this.unsure.get(call) ?? 0) === 0) this.stranded.add(call.count, reservation);
  }

  /** Sends the reservations handed over so far (see {@link Stranded.send}). */
  send(): void {
    this.stranded.send();
  }

  /** A withdraw of `chain` failed or timed out: it may have run, until its late reply says. */
  withdrawFailed(chain: readonly Call[]): void {
    for (const call of chain) this.unsure.set(call, (this.unsure.get(call) ?? 0) + 1);
  }

  /** A withdraw of `chain` that had failed or timed out was answered after all. */
  answeredLate(chain: readonly Call[]): void {
    for (const call of chain) this.unsure.set(call, (this.unsure.get(call) ?? 1) - 1);
  }
}
