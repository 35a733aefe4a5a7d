import type { BucketKey } from './BucketKey.js';
import { OP_REPLAY, replayArgs, type Reservation } from './protocol.js';
import type { ScriptReply } from './ScriptCaller.js';

/** The most background give-backs kept for a retry; older ones are dropped (their tokens stay taken: never too many). */
const MAX_OWED = 1024;

/**
 * Owed holds what one Redis bucket could not give back yet, and sends it again at Redis' next answer
 * (any reply on the bucket's key): background give-backs (a late reply's reservation, the runs left
 * by `close()`) that failed or timed out, and a withdraw of aborted callers (the bucket's own, through
 * `withdraw`) that failed, timed out or met an invalid clock reading. Give-backs are sent whatever the
 * circuit breaker says: a late reply, or any reply, shows that Redis answers, and holding them back
 * would lose their tokens for good. Sending one again is always safe: the script writes it only while
 * the tail is still where its last reservation left it, so a retry of one that ran after all writes
 * nothing.
 */
export class Owed {
  /** Whether a withdraw is owed. */
  private withdrawOwed = false;
  private cancels: Array<readonly [top: Reservation, bottom: Reservation]> = [];
  private queued = false;

  constructor(
    private readonly key: BucketKey,
    /** Sends the bucket's withdraw of aborted callers again. */
    private readonly withdraw: () => void,
  ) {
    key.answered = () => {
      if (this.queued || (!this.withdrawOwed && this.cancels.length === 0)) return;
      this.queued = true;
      queueMicrotask(this.retry); // once the reply that said so is read
    };
  }

  /** A withdraw could not be made (Redis unavailable, or an invalid reading): again at Redis' next answer. */
  oweWithdraw(): void {
    this.withdrawOwed = true;
  }

  /**
   * Gives back the run of reservations from `bottom` to `top` in the background (re-making nothing),
   * if `top` is still the last reservation in Redis; if Redis fails or does not answer, again at its
   * next answer. With client time on an invalid reading, at the last valid one (the script then only
   * sets the key's expiry from it, later than needed, never earlier). `refused` is called when Redis
   * answers that `top` is not the last reservation (someone reserved on top: nothing was written).
   */
  giveBack(top: Reservation | undefined, bottom: Reservation | undefined, refused?: () => void): void {
    const now = this.key.giveBackNow();
    if (now === undefined || top === undefined || bottom === undefined) return;
    const owed = [top, bottom] as const;
    const settled = (reply: ScriptReply): void => {
      const at = this.cancels.indexOf(owed);
      if (at >= 0) this.cancels.splice(at, 1);
      if (reply.values[0] === 0) refused?.();
    };
    this.key.caller.call(
      this.key.redisKey,
      this.key.args(OP_REPLAY, now, replayArgs(top, bottom, [])),
      1,
      settled,
      () => {
        if (this.cancels.length >= MAX_OWED) this.cancels.shift();
        this.cancels.push(owed);
        refused = undefined; // it may have run: its reservations are never given back another way
      },
      settled, // ran after all, after our timeout
      true,
    );
  }

  private readonly retry = (): void => {
    this.queued = false;
    const cancels = this.cancels;
    this.cancels = [];
    for (const [top, bottom] of cancels) this.giveBack(top, bottom);
    if (!this.withdrawOwed) return;
    this.withdrawOwed = false;
    this.withdraw();
  };
}
