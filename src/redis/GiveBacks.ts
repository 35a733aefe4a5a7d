/**
 * What a Redis bucket gives back, and when: its reservations in Redis order, the withdraw of aborted
 * ones, the give-backs of `close()` and the replan of `reconfigure()`, decided here and sent through
 * {@link TailRewriter}, {@link Owed}, {@link StrandedCalls} and {@link Reasserts}.
 */
import type { Call } from './calls.js';
import {
  OP_REPLAY,
  onTop,
  replayArgs,
  TAKE_GRANTED,
  TAKE_RESERVED,
  ScriptConfig,
  type ReplayPair,
  type Reservation,
  type TakeReply,
} from './protocol.js';
import { Owed } from './Owed.js';
import type { RedisBucket } from './RedisBucket.js';
import { Reasserts } from './Reasserts.js';
import { Reservations } from './Reservations.js';
import { reconfigureTail } from './reconfigureTail.js';
import { replayed, reorder, rewriteTakes } from './rewriteReplies.js';
import { StrandedCalls } from './StrandedCalls.js';
import { TailRewriter } from './TailRewriter.js';

/**
 * GiveBacks holds a Redis bucket's reservations, in the order Redis made them (sleeping callers, and
 * aborted ones whose tokens may still go back), and rewrites the tail in Redis when that is safe: the
 * core's `replay()` (`src/core/decide.ts`), run by the script on the state the first reservation given
 * back started from. Only this bucket's reservations that are the last ones in Redis, each right on top
 * of the one before, can go back: the script checks that the tail's generation is still the one the
 * last of them left, so a reservation of anyone else since changes nothing. Reservations below someone
 * else's keep their tokens, and their steps pass unused: no two waiters can ever share a slot.
 */
export class GiveBacks {
  /** Calls holding a reservation, in the order Redis made them. May hold calls granted already (skipped). */
  private readonly sleepers = new Reservations();
  /** Sends the rewrites (replay or reconfigure): one at a time, each computed on what the one before left. */
  private readonly rewriter: TailRewriter;
  /** The highest take of the bucket answered (or failed). */
  private takesAnswered = 0;
  /** A withdraw waits for the answer of this take (the latest sent when it was due), if set. */
  private withdrawAfter: number | undefined = undefined;
  /** What could not go back yet, sent again at Redis' next answer. */
  private readonly owed: Owed;
  /** Aborted reservations below someone else's, given back without moving anyone where that is exact. */
  private readonly stranded: StrandedCalls;

  /** Re-asserts the reservations in a key Redis has lost since. */
  private readonly reasserts: Reasserts;
  /** Told when callers start sleeping and may have stopped (the pause notices' subscription: `PauseWatch`). */
  watch: { hold(): void; changed(): void; release(): void } | undefined = undefined;

  constructor(private readonly bucket: RedisBucket) {
    this.rewriter = new TailRewriter(bucket, () => {
      this.withdrawAborted();
    });
    this.owed = new Owed(bucket.key, () => {
      this.withdrawAborted();
    });
    this.stranded = new StrandedCalls(bucket.key, (origin, from, to) => {
      this.sleepers.returned(origin, from, to);
    });
    this.reasserts = new Reasserts(
      bucket.key,
      () => this.sleepers.held(),
      (args, done, failed) => {
        this.rewrite(args, done, failed, true); // past an open breaker, as a give-back
      },
      () => {
        this.withdrawAborted();
      },
    );
  }

  /** `call` reserved (`reservation`) until local clock reading `deadline`: it waits in the room until then, in reply order. */
  sleep(call: Call, reservation: Reservation, deadline: number): void {
    call.reservation = reservation;
    call.state = 'sleeping';
    // Keep local grants in reply order even if the replies' delays differed.
    call.deadline = Math.max(deadline, this.sleepers.lastDeadline());
    this.sleepers.push(call);
    this.reasserts.hold();
    this.watch?.hold();
    this.bucket.waits.room.push(call);
  }

  /** The room grants `call`: the reservations before it are all settled, and leave this list. */
  granting(call: Call): void {
    if (this.sleepers.granting(call)) this.reasserts.release();
    this.watch?.changed();
  }

  /**
   * The reply of a call that no longer waits for it (aborted, failed or closed meanwhile): its tokens
   * go back, through the next withdraw (which also moves this bucket's callers behind it up).
   */
  unwantedReply(call: Call, take: TakeReply): void {
    if (take.status !== TAKE_GRANTED && take.status !== TAKE_RESERVED) return;
    if (this.bucket.isClosed) {
      this.cancel(take.reservation);
      return;
    }
    call.unwanted = true;
    call.reservation = take.reservation;
    this.sleepers.push(call);
    this.withdrawAborted();
  }

  /**
   * Notes that the take numbered `seq` has its answer: a withdraw that waited for it can now see every
   * reservation this bucket made before it (none of them can land on top of it any more).
   */
  takeAnswered(seq: number): void {
    if (seq > this.takesAnswered) this.takesAnswered = seq;
    this.watch?.changed();
    const after = this.withdrawAfter;
    if (after === undefined || this.takesAnswered < after) return;
    this.withdrawAfter = undefined;
    if (this.bucket.isClosed) return;
    this.withdrawAborted();
  }

  /**
   * Gives `reservation` back in the background if it is still the last one (nothing written otherwise),
   * whatever the breaker says; if Redis does not answer, again at its next answer.
   */
  cancel(reservation: Reservation): void {
    this.owed.giveBack(reservation, reservation);
  }

  /** After `close()`: gives back, in one background call, the reservations still held that are the last ones. */
  closed(): void {
    const held = this.sleepers
      .held()
      .filter((call) => call.reservation !== undefined && (call.state === 'sleeping' || call.dead));
    this.sleepers.clear();
    this.reasserts.release();
    this.watch?.release();
    let first = held.length - 1;
    if (first < 0) return;
    while (first > 0 && onTop(held[first - 1]?.reservation, held[first]?.reservation)) first -= 1;
    const run = held.slice(first);
    // The last ones, unless someone reserved on top: then they are stranded too.
    this.owed.giveBack(held[held.length - 1]?.reservation, held[first]?.reservation, () => {
      for (const call of run) this.stranded.strand(call);
      this.stranded.send();
    });
    for (const call of held.slice(0, first)) this.stranded.strand(call);
    this.stranded.send();
  }

  /**
   * Gives back the tokens of aborted reservations, in one script call, where that cannot let anyone
   * exceed the schedule; the live callers among them and above them are re-reserved in the same call,
   * in order, from where the first aborted one stood (they move up). Then re-arms for the head.
   */
  withdrawAborted(): void {
    this.watch?.changed();
    if (this.rewriter.busy || this.bucket.isClosed) return;
    if (this.reasserts.send()) return; // first, the reservations Redis lost
    if (this.takesAnswered < this.bucket.waits.takesSent) {
      // A take still in flight may have reserved on top already: wait for its reply, so that its
      // reservation, if any, is known and re-reserved too (otherwise the withdraw would just fail).
      this.withdrawAfter = this.bucket.waits.takesSent;
      return;
    }
    const first = this.sleepers.runStart();
    // Aborted ones below that run hold tokens that others reserved on top of: no replay can reach them.
    for (let i = this.sleepers.first; i < first; i += 1) {
      const call = this.sleepers.at(i) as Call;
      if (call.dead) this.stranded.strand(call);
    }
    this.stranded.send();
    let start = first;
    while (start < this.sleepers.length && !(this.sleepers.at(start) as Call).dead) start += 1;
    // Nothing to give back.
    if (start >= this.sleepers.length) return;
    const now = this.bucket.key.backgroundNow();
    if (now === undefined) {
      // An invalid reading: the live callers cannot be re-decided on it. Redis' next answer (the next
      // call, once the clock is mended) tries again; the tokens stay taken meanwhile (never too many).
      this.owed.oweWithdraw();
      return;
    }
    const chain = this.sleepers.slice(start);
    const sentAs = chain.map((call) => call.reservation);
    const kept = chain.filter((call) => call.state === 'sleeping');
    const pairs = kept.map((call): ReplayPair => [call.count, undefined]);
    const top = (chain[chain.length - 1] as Call).reservation;
    const args = replayArgs(top, (chain[0] as Call).reservation, pairs);
    let failed = false;
    this.rewrite(
      this.bucket.key.args(OP_REPLAY, now, args),
      (values) => {
        if (failed) this.stranded.answeredLate(chain);
        if (values[0] === 1) {
          replayed(this.bucket, this.sleepers, start, chain, kept, values);
          if (this.bucket.isClosed) {
            this.closed();
            return;
          }
          this.reorder();
          return;
        }
        // Someone else reserved on top: the tail never comes back to that generation, so these are
        // stranded; but not the ones an earlier withdraw, timed out and answered after all, has re-made since.
        chain.forEach((call, i) => {
          if (call.dead && call.reservation === sentAs[i]) this.stranded.strand(call);
        });
        this.stranded.send();
      },
      () => {
        failed = true;
        this.stranded.withdrawFailed(chain);
        this.owed.oweWithdraw(); // nothing is known to have changed: again at Redis' next answer
      },
      true,
    );
  }

  /**
   * Puts `next` in force in Redis, re-planning this bucket's last run of reservations under the new
   * limits (see {@link reconfigureTail}); `resolve` on success, `reject` with `RedisUnavailableError`
   * otherwise, or with `InvalidClockReadingError` on an invalid clock reading (nothing sent). Sent once
   * no rewrite is in flight.
   */
  reconfigure(next: ScriptConfig, resolve: () => void, reject: (error: unknown) => void): void {
    // Behind the rewrite in flight (a pause's check, say), on the reservations it leaves.
    this.rewriter.whenFree(() => {
      try {
        const start =
          this.takesAnswered < this.bucket.waits.takesSent ? this.sleepers.length : this.sleepers.runStart();
        reconfigureTail(this.bucket, this.sleepers, start, this.rewriter, next, resolve, reject);
      } catch (invalid) {
        reject(invalid); // an invalid clock reading: nothing was sent
      }
    });
  }

  /**
   * For a pause (`Pauses`): this bucket's calls holding reservations, in Redis order, and the index of
   * the first of its last run that can be given back (their length while a take is in flight).
   */
  held(): { calls: readonly Call[]; start: number } {
    const calls = this.sleepers.compact();
    const start = this.takesAnswered < this.bucket.waits.takesSent ? calls.length : this.sleepers.runStart();
    return { calls, start };
  }

  /**
   * Sends one tail rewrite; `done` gets the reply's values after the configuration, unless it failed.
   * A `giveBack` (a withdraw) is sent whatever the breaker says. See {@link TailRewriter.rewrite}.
   */
  rewrite(
    args: string[],
    done: (values: number[], stored: string | undefined) => void,
    failed?: (error: unknown) => void,
    giveBack = false,
  ): void {
    this.rewriter.rewrite(args, done, failed, giveBack);
  }

  /** Runs `send` once no rewrite is in flight (see {@link TailRewriter.whenFree}). */
  whenFree(send: () => void): void {
    this.rewriter.whenFree(send);
  }

  /** The takes of a rewrite's reply (after the 1 that says the chain was given back), one per kept call; throws if not. */
  replies(values: readonly number[], kept: number): TakeReply[] {
    return rewriteTakes(this.bucket, values, kept);
  }

  /** Keeps local grants in order (nobody wakes before a call ahead of it), then re-arms the room. */
  reorder(): void {
    reorder(this.bucket);
  }
}
