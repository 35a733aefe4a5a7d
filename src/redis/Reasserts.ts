import type { BucketKey, Incarnation } from './BucketKey.js';
import type { Call } from './calls.js';
import { OP_REASSERT } from './protocol.js';

/**
 * Reasserts re-asserts one Redis bucket's reservations when Redis has lost its key: a restart without
 * persistence (or an eviction) brings the key back full, knowing nothing of the callers of this
 * process still sleeping on reservations made in the old one, whose tokens it would grant again. So
 * when a reply shows the key created anew (another origin under the same configuration stamp), or
 * when Redis may have lost it (the client reconnected, or a call met `NOSCRIPT`: see `LossWatch`), one
 * script call (op 4) takes those reservations' counts again in the key as it is now, in order, at
 * once; the script writes nothing unless the key is indeed missing or new. The sleeping callers keep
 * their grant instants; the new key's later callers wait behind them. After a restart, the new key's
 * full bucket is then the only extra: at most one burst.
 */
export class Reasserts {
  /** The key whose reservations are to be re-asserted, if a check is due. */
  private due: Incarnation | undefined = undefined;
  private holding = false;
  /** Whether the last re-assert failed: the next reply on the key (Redis answers again) sends it again. */
  private failed = false;
  /** The retry of a re-assert that failed (Redis still down, or the breaker open), while one is set. */
  private retry: { unref?(): unknown } | undefined = undefined;
  /** The `clearTimeout` of the timer API that set {@link retry} (fake timers may have come or gone since). */
  private clearRetry: (handle: never) => void = () => undefined;

  constructor(
    private readonly key: BucketKey,
    /** The calls holding reservations, in Redis order (some granted or dead: skipped). */
    private readonly sleepers: () => Iterable<Call>,
    /**
     * Sends a rewrite of the tail (one at a time), past an open breaker; `done` gets the reply's values
     * after the configuration, `failed` the error.
     */
    private readonly rewrite: (args: string[], done: (values: number[]) => void, failed: () => void) => void,
    /** Sends what is due (a re-assert first) once no rewrite is in flight. */
    private readonly kick: () => void,
  ) {
    key.onRecreated = (lost) => {
      queueMicrotask(() => {
        this.check(lost);
      });
    };
    key.onAnswer = () => {
      if (this.due !== undefined && this.failed) {
        this.failed = false;
        queueMicrotask(this.kick);
      }
    };
  }

  /** Redis may have lost the key: check it, as this bucket last saw it (or the check that failed last). */
  private readonly suspect = (): void => {
    const seen = this.due ?? this.key.incarnation;
    if (seen !== undefined) this.check(seen);
  };

  /** Re-asserts, in the next rewrite, the reservations made in `lost` if Redis no longer holds it. */
  check(lost: Incarnation): void {
    this.due = lost;
    this.kick();
  }

  /** Kicks the due re-assert again after the breaker's cooldown (at least 50 ms), while callers sleep. */
  private retryLater(): void {
    if (this.retry !== undefined || !this.holding) return;
    const retry = globalThis.setTimeout(
      () => {
        this.retry = undefined;
        this.kick();
      },
      Math.max(50, this.key.config.breakerCooldown),
    ) as { unref?(): unknown }; // a browser's timer is a number
    retry.unref?.();
    this.retry = retry;
    this.clearRetry = globalThis.clearTimeout;
  }

  /** A caller started sleeping on a reservation: listen for losses. */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.key.caller.losses.hold(this.suspect);
  }

  /** No caller sleeps any more (or the bucket closed): stop listening. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.key.caller.losses.release(this.suspect);
    this.due = undefined;
    this.failed = false;
    if (this.retry !== undefined) this.clearRetry(this.retry as never);
    this.retry = undefined;
  }

  /**
   * Sends the re-assert due, if any, of the sleeping callers whose reservations were made in that key;
   * returns whether it sent one (then the caller sends nothing else until its reply). Sends nothing on
   * an invalid client-time reading (the next loss or reply tries again).
   */
  send(): boolean {
    const lost = this.due;
    if (lost === undefined) return false;
    this.due = undefined;
    const calls = [...this.sleepers()].filter(
      (call) => call.state === 'sleeping' && call.reservation?.origin === lost.origin,
    );
    const now = this.key.backgroundNow();
    if (calls.length === 0 || now === undefined) return false;
    const tail = [String(lost.origin), String(lost.stamp), ...calls.map((call) => String(call.count))];
    this.rewrite(
      this.key.args(OP_REASSERT, now, tail),
      (values) => {
        if (values[0] !== 1) return; // Redis still holds that key: nothing was lost
        const takes = this.key.readTakes(values, 1);
        // Each now holds its reservation in the new key, where it can be given back if it is the last.
        calls.forEach((call, i) => {
          const take = takes[i];
          if (take !== undefined) call.reservation = take.reservation;
        });
      },
      () => {
        // Failed or timed out (Redis still down, or the breaker open): due again, at the next reply on
        // the key, and once the breaker would let a call through (not at once: Redis may be down).
        this.due ??= lost;
        this.failed = true;
        this.retryLater();
      },
    );
    return true;
  }
}
