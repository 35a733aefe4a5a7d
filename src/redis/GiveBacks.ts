import { readClock, tryReadClock } from '../clock.js';
import type { Call } from './calls.js';
import {
  OP_RECONFIGURE,
  OP_REPLAY,
  onTop,
  replayArgs,
  TAKE_GRANTED,
  TAKE_RESERVED,
  TAKE_TOO_LATE,
  ScriptConfig,
  type ReplayPair,
  type Reservation,
  type TakeReply,
} from './protocol.js';
import { RedisUnavailableError } from './errors.js';
import { Owed } from './Owed.js';
import { Stranded } from './Stranded.js';
import type { RedisBucket } from './RedisBucket.js';
import { Reasserts } from './Reasserts.js';
import type { ScriptReply } from './ScriptCaller.js';

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
  private sleepers: Call[] = [];
  private head = 0;
  /** The rewrite (replay or reconfigure) in flight, if any: one at a time, each computed on what the one before left. */
  private rewriting: object | undefined = undefined;
  /** The highest take of the bucket answered (or failed). */
  private takesAnswered = 0;
  /** A withdraw waits for the answer of this take (the latest sent when it was due), if set. */
  private withdrawAfter: number | undefined = undefined;
  /** What could not go back yet, sent again at Redis' next answer. */
  private readonly owed: Owed;
  /** Aborted reservations below someone else's, given back without moving anyone where that is exact. */
  private readonly stranded: Stranded;
  /**
   * Calls in withdraws that failed or timed out (how many, until their late replies), which may have
   * run: never given back as stranded, which could give them back twice.
   */
  private readonly unsure = new WeakMap<Call, number>();

  /** Re-asserts the reservations in a key Redis has lost since. */
  private readonly reasserts: Reasserts;

  constructor(private readonly bucket: RedisBucket) {
    this.owed = new Owed(bucket.key, () => {
      this.withdrawAborted();
    });
    this.stranded = new Stranded(bucket.key, (origin, from, to) => {
      this.returned(origin, from, to);
    });
    this.reasserts = new Reasserts(
      bucket.key,
      () => this.sleepers.slice(this.head),
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
    call.deadline = Math.max(deadline, this.lastDeadline());
    this.sleepers.push(call);
    this.reasserts.hold();
    this.bucket.waits.room.push(call);
  }

  /** The room grants `call`: the reservations before it are all settled, and leave this list. */
  granting(call: Call): void {
    const sleepers = this.sleepers;
    while (this.head < sleepers.length && sleepers[this.head] !== call) this.head += 1;
    this.head += 1;
    if (this.head >= sleepers.length) {
      this.sleepers = [];
      this.head = 0;
      this.reasserts.release();
    } else if (this.head > 1024 && this.head * 2 > sleepers.length) {
      this.sleepers = sleepers.slice(this.head);
      this.head = 0;
    }
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
      .slice(this.head)
      .filter((call) => call.reservation !== undefined && (call.state === 'sleeping' || call.dead));
    this.sleepers = [];
    this.head = 0;
    this.reasserts.release();
    let first = held.length - 1;
    if (first < 0) return;
    while (first > 0 && onTop(held[first - 1]?.reservation, held[first]?.reservation)) first -= 1;
    const run = held.slice(first);
    // The last ones, unless someone reserved on top: then they are stranded too.
    this.owed.giveBack(held[held.length - 1]?.reservation, held[first]?.reservation, () => {
      for (const call of run) this.strand(call);
      this.stranded.send();
    });
    for (const call of held.slice(0, first)) this.strand(call);
    this.stranded.send();
  }

  /**
   * Gives back the tokens of aborted reservations, in one script call, where that cannot let anyone
   * exceed the schedule; the live callers among them and above them are re-reserved in the same call,
   * in order, from where the first aborted one stood (they move up). Then re-arms for the head.
   */
  withdrawAborted(): void {
    if (this.rewriting !== undefined || this.bucket.isClosed) return;
    if (this.reasserts.send()) return; // first, the reservations Redis lost
    if (this.takesAnswered < this.bucket.waits.takesSent) {
      // A take still in flight may have reserved on top already: wait for its reply, so that its
      // reservation, if any, is known and re-reserved too (otherwise the withdraw would just fail).
      this.withdrawAfter = this.bucket.waits.takesSent;
      return;
    }
    const first = this.runStart();
    // Aborted ones below that run hold tokens that others reserved on top of: no replay can reach them.
    for (let i = this.head; i < first; i += 1) {
      const call = this.sleepers[i] as Call;
      if (call.dead) this.strand(call);
    }
    this.stranded.send();
    let start = first;
    while (start < this.sleepers.length && !(this.sleepers[start] as Call).dead) start += 1;
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
        if (failed) for (const call of chain) this.unsure.set(call, (this.unsure.get(call) ?? 1) - 1); // answered late
        if (values[0] === 1) {
          this.replayed(start, chain, kept, values);
          return;
        }
        // Someone else reserved on top: the tail never comes back to that generation, so these are
        // stranded; but not the ones an earlier withdraw, timed out and answered after all, has re-made since.
        chain.forEach((call, i) => {
          if (call.dead && call.reservation === sentAs[i]) this.strand(call);
        });
        this.stranded.send();
      },
      () => {
        failed = true;
        for (const call of chain) this.unsure.set(call, (this.unsure.get(call) ?? 0) + 1);
        this.owed.oweWithdraw(); // nothing is known to have changed: again at Redis' next answer
      },
      true,
    );
  }

  /**
   * Puts `next` in force in Redis: this bucket's last reservations (the longest run on top of each other
   * ending with its latest) are given back and their live callers re-planned under the new limits in
   * the same call (a count above the new capacity rejects with `RangeError`, a broken `maxWait` with
   * `MaxWaitExceededError`); callers below that run, and every other process's, keep their
   * reservations, and the new limits start at the tail. Calls `resolve` on success, `reject` with
   * `RedisUnavailableError` otherwise (nothing changed then).
   */
  reconfigure(next: ScriptConfig, resolve: () => void, reject: (error: unknown) => void): void {
    const bucket = this.bucket;
    const now = bucket.key.backgroundNow() ?? String(readClock(bucket.key.timeClock)); // throws on an invalid reading
    const local = readClock(bucket.key.timeClock);
    const start = this.takesAnswered < bucket.waits.takesSent ? this.sleepers.length : this.runStart();
    const chain = this.sleepers.slice(start);
    const kept = chain.filter((call) => call.state === 'sleeping' && call.count <= next.capacity);
    const elapsed = kept.map((call) => local - call.calledAt);
    const pairs = kept.map((call, i): ReplayPair => {
      const maxWait = call.maxWait === undefined ? undefined : Math.max(0, call.maxWait - (elapsed[i] ?? 0));
      return [call.count, maxWait];
    });
    const top = chain[chain.length - 1]?.reservation;
    const args = replayArgs(top, chain[0]?.reservation, pairs);
    const initial = (config: ScriptConfig): string[] => bucket.key.args(OP_RECONFIGURE, now, args, config);
    this.rewrite(
      initial(next),
      (values, stored) => {
        bucket.key.adopt(stored === undefined ? next : ScriptConfig.parse(stored));
        // In call order, as in-process: first the counts above the new capacity, then broken maxWaits.
        for (const call of [...bucket.waits.room])
          if (call.count > next.capacity) bucket.waits.overCapacity(call, next.capacity);
        if (values[0] === 1) this.replanned(start, chain, kept, elapsed, values);
        else for (const call of chain) call.reservation = undefined; // below the new tail for good
        resolve();
      },
      reject,
    );
  }

  /** Hands `call`'s reservation (aborted, below someone else's) to {@link stranded}, unless a withdraw that may have run holds it. */
  private strand(call: Call): void {
    const reservation = call.reservation;
    call.reservation = undefined;
    if (reservation !== undefined && (this.unsure.get(call) ?? 0) === 0) this.stranded.add(call.count, reservation);
  }

  /**
   * A return moved the tail of `origin` from generation `from` to `to`: when that tail was this
   * bucket's last reservation, its run (each on top of the one before) now ends at `to`.
   */
  private returned(origin: number, from: number, to: number): void {
    const top = this.sleepers[this.sleepers.length - 1]?.reservation;
    if (top?.origin !== origin || top.gen !== from) return;
    for (let i = this.runStart(); i < this.sleepers.length; i += 1) {
      const call = this.sleepers[i] as Call;
      if (call.reservation !== undefined)
        call.reservation = { ...call.reservation, gen: call.reservation.gen + to - from };
    }
  }

  /**
   * For a pause (`Pauses`): this bucket's calls holding reservations, in Redis order, and the index of
   * the first of its last run that can be given back (their length while a take is in flight).
   */
  held(): { calls: readonly Call[]; start: number } {
    const calls = this.sleepers.slice(this.head);
    this.sleepers = calls;
    this.head = 0;
    const start = this.takesAnswered < this.bucket.waits.takesSent ? calls.length : this.runStart();
    return { calls, start };
  }

  /** The index of the first of the longest run of reservations, each on top of the one before, ending with the latest. */
  private runStart(): number {
    let first = this.sleepers.length - 1;
    if (first < this.head) return this.sleepers.length;
    while (first > this.head && onTop(this.sleepers[first - 1]?.reservation, this.sleepers[first]?.reservation)) {
      first -= 1;
    }
    return first;
  }

  /**
   * Sends one tail rewrite; `done` gets the reply's values after the configuration, unless it failed.
   * A `giveBack` (a withdraw) is sent whatever the breaker says.
   */
  rewrite(
    args: string[],
    done: (values: number[], stored: string | undefined) => void,
    failed?: (error: unknown) => void,
    giveBack = false,
  ): void {
    const request = {};
    this.rewriting = request;
    const finish = (): void => {
      if (this.rewriting === request) this.rewriting = undefined;
    };
    const onReply = (reply: ScriptReply): void => {
      finish();
      try {
        done(this.bucket.key.observe(reply), reply.stored);
      } catch (error) {
        failed?.(error);
      }
      if (this.bucket.isClosed) return;
      this.withdrawAborted(); // the calls aborted while this one was in flight
    };
    this.bucket.key.caller.call(
      this.bucket.key.redisKey,
      args,
      1, // {cfg, 0} when refused; the readers check the length of a success
      onReply,
      (error) => {
        finish(); // failed or timed out: nothing is known to have changed
        failed?.(error);
      },
      onReply, // ran after all, after our timeout
      giveBack,
    );
  }

  /**
   * A replay succeeded: the withdrawn in `chain` (from index `start`) hold nothing any more, the one
   * below it (if right under it) now tops the tail, and each kept call holds its new reservation and,
   * if still sleeping, wakes at its new (earlier) instant. Kept calls aborted meanwhile hold their new
   * reservation as dead ones, for the next withdraw.
   */
  private replayed(start: number, chain: readonly Call[], kept: readonly Call[], values: readonly number[]): void {
    const takes = this.replies(values, kept.length);
    const below = this.sleepers[start - 1];
    if (below?.reservation !== undefined && onTop(below.reservation, chain[0]?.reservation)) {
      below.reservation = { ...below.reservation, gen: values[2] ?? 0 };
    }
    for (const call of chain) call.reservation = undefined;
    kept.forEach((call, index) => {
      const take = takes[index];
      if (take === undefined) return;
      call.reservation = take.reservation;
      if (call.state !== 'sleeping') return;
      try {
        call.deadline = this.bucket.key.deadline(take.wait, take.grantAt);
      } catch {
        // An invalid local reading: keep the old instant, later than the new one (never early).
      }
    });
    if (this.bucket.isClosed) {
      this.closed();
      return;
    }
    this.reorder();
  }

  /** Like {@link replayed}, for a reconfigure: a kept call the new limits would grant too late rejects. */
  private replanned(
    start: number,
    chain: readonly Call[],
    kept: readonly Call[],
    elapsed: readonly number[],
    values: readonly number[],
  ): void {
    const takes = this.replies(values, kept.length);
    const below = this.sleepers[start - 1];
    if (below?.reservation !== undefined && onTop(below.reservation, chain[0]?.reservation)) {
      below.reservation = { ...below.reservation, gen: values[2] ?? 0 };
    }
    for (const call of chain) call.reservation = undefined;
    kept.forEach((call, index) => {
      const take = takes[index];
      if (take === undefined) return;
      if (take.status === TAKE_TOO_LATE) {
        if (call.state === 'sleeping') this.bucket.waits.maxWaitBroken(call, take.wait + (elapsed[index] ?? 0));
        return;
      }
      call.reservation = take.reservation;
      if (call.state !== 'sleeping') return; // aborted meanwhile (a dead one now), or granted
      try {
        call.deadline = this.bucket.key.deadline(take.wait, take.grantAt);
      } catch {
        // An invalid local reading: keep the old instant.
      }
    });
    this.reorder();
  }

  /** The takes of a rewrite's reply (after the 1 that says the chain was given back), one per kept call; throws if not. */
  replies(values: readonly number[], kept: number): TakeReply[] {
    const takes = this.bucket.key.readTakes(values, 1);
    if (takes.length !== kept) {
      throw new RedisUnavailableError(
        new TypeError(`unexpected reply from the bucket script: ${takes.length} takes for ${kept}`),
      );
    }
    return takes;
  }

  /** Keeps local grants in order (nobody wakes before a call ahead of it), then re-arms the room. */
  reorder(): void {
    let last = Number.NEGATIVE_INFINITY;
    for (const call of this.bucket.waits.room) {
      call.deadline = Math.max(call.deadline, last);
      last = call.deadline;
    }
    // The ones the tokens already cover are granted now; the timer is set for the new head's instant.
    this.bucket.waits.room.drain(tryReadClock(this.bucket.key.timeClock));
    this.bucket.waits.room.rearm();
  }

  /** The grant instant of the last call still sleeping (aborted ones no longer hold anyone back). */
  private lastDeadline(): number {
    for (let i = this.sleepers.length - 1; i >= this.head; i -= 1) {
      const call = this.sleepers[i] as Call;
      if (call.state === 'sleeping') return call.deadline;
    }
    return Number.NEGATIVE_INFINITY;
  }
}
