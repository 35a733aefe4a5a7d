import type { BucketKey } from './BucketKey.js';
import { OP_RETURN, returnArgs, type Reservation, type StrandedReservation } from './protocol.js';

/** The most stranded reservations kept; more are dropped (their tokens stay taken: never too many). */
const MAX_STRANDED = 4096;
/** The most reservations one return carries. */
const MAX_RETURN = 128;

/**
 * Stranded gives back one Redis bucket's aborted reservations that others reserved on top of, which
 * a replay cannot reach (it rewrites only the tail), with the script's return (op 6, see `script.ts`):
 * nobody's instant moves, and the tail gains their tokens when that is exact, i.e. when no return was
 * made on the key since (the state before each one is still the tail's history) and from that state a
 * refill at every step up to the tail stays within the capacity (then the cap never bound since, with
 * or without it). Otherwise, or when the return fails or times out, their tokens stay taken: never too
 * many. A return starts a new epoch of the key's generation: the same return sent twice (a retry, a
 * client resending after a reconnect) writes once, and other reservations made before it can no
 * longer be given back by anyone.
 */
export class Stranded {
  private waiting: StrandedReservation[] = [];
  private sending = false;

  constructor(
    private readonly key: BucketKey,
    /** A return moved the tail's generation from `from` to `to` (in `origin`'s schedule). */
    private readonly applied: (origin: number, from: number, to: number) => void,
  ) {}

  /** Notes `reservation` (of `count` tokens, aborted, below someone else's) to give back. */
  add(count: number, reservation: Reservation): void {
    if (this.waiting.length < MAX_STRANDED) this.waiting.push({ count, reservation });
  }

  /** Sends the reservations noted, one return at a time (those of one origin and number of limits in each). */
  send(): void {
    if (this.sending || this.waiting.length === 0) return;
    const now = this.key.giveBackNow();
    if (now === undefined) return; // no valid reading was ever taken: nothing can have been reserved
    const first = (this.waiting[0] as StrandedReservation).reservation;
    const same = (r: Reservation): boolean => r.origin === first.origin && r.before.length === first.before.length;
    const batch = this.waiting.filter(({ reservation }) => same(reservation)).slice(0, MAX_RETURN);
    const sent = new Set(batch);
    this.waiting = this.waiting.filter((one) => !sent.has(one));
    this.sending = true;
    this.key.caller.call(
      this.key.redisKey,
      this.key.args(OP_RETURN, now, returnArgs(first.origin, batch)),
      3,
      (reply) => {
        this.sending = false;
        try {
          const [given = 0, from = 0, to = 0] = this.key.observe(reply);
          if (given > 0) this.applied(first.origin, from, to);
        } catch {
          // A malformed reply: nothing is known.
        }
        this.send();
      },
      () => {
        this.sending = false; // failed or timed out: if it ran after all, sending it again writes nothing
        this.send();
      },
      undefined,
      true,
    );
  }
}
