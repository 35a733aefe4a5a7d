import type { Call } from './calls.js';
import type { GiveBacks } from './GiveBacks.js';
import { IdleWaiters } from './IdleWaiters.js';
import { pauseChannel, readNotice } from './PauseNotices.js';
import type { RedisBucket } from './RedisBucket.js';

/**
 * PauseWatch is how a Redis bucket hears of the pauses of other processes while it has callers: it
 * subscribes to its key's pause notices (`RedisScriptRunner.subscribe`, when the runner has it) from
 * its first caller sleeping on a reservation until none is pending, and re-plans its sleepers behind a
 * pause when a notice names a generation above their reservations, with one check (op 5 without `ms`:
 * `Pauses.check`), queued behind the rewrite in flight. A subscription is only sure once Redis
 * confirmed it: the sleepers that reserved before (a pause then was published to nobody here) are
 * checked once, right after it is confirmed, and again after a reconnect; until then, and without a
 * subscription, they ask at their grant instant as `Pauses.ready` says. Nothing here runs on the
 * normal wake path.
 */
export class PauseWatch {
  private unsubscribe: (() => void) | undefined = undefined;
  /** The number of the latest confirmation of the subscription (0: none yet). */
  private since = 0;
  /** Whether the subscription is confirmed and not lost since. */
  private live = false;
  /** The take numbers from which calls are watched: those sent after the latest confirmation. */
  private sentFrom = Number.POSITIVE_INFINITY;
  /** Whether the subscription waits for its confirmation. */
  private subscribing = false;
  /** A check due: the sleepers not watched (`cover`), or those below a notice's generation. */
  private cover = false;
  private notice: { origin: number; gen: number } | undefined = undefined;
  /** Whether a check is queued or in flight. */
  private checking = false;
  private scanning = false;
  private readonly idlers = new IdleWaiters();

  constructor(
    private readonly bucket: RedisBucket,
    private readonly giveBacks: GiveBacks,
    /** Sends one check of `due`; `mark` goes to the calls it re-decides or finds unpaused; `done` after. */
    private readonly check: (due: readonly Call[], mark: number, done: () => void) => void,
  ) {}

  /** The mark of a reservation made now: the confirmation it is made under, 0 when not subscribed. */
  get mark(): number {
    return this.live ? this.since : 0;
  }

  /** Whether a pause after `call`'s reservation would reach this bucket as a notice. */
  watched(call: Call): boolean {
    return this.live && (call.watch === this.since || (call.watch === 0 && call.seq >= this.sentFrom));
  }

  /** A caller sleeps on a reservation: subscribe, if not yet and the runner can. */
  hold(): void {
    if (this.unsubscribe !== undefined || this.bucket.isClosed) return;
    const runner = this.bucket.key.config.runner;
    if (runner.subscribe === undefined) return;
    this.subscribing = true;
    try {
      this.unsubscribe = runner.subscribe(pauseChannel(this.bucket.key.redisKey), this.heard, this.confirmed);
    } catch {
      this.subscribing = false; // a runner whose hook throws: no notices, the sleepers ask as before
      this.wake();
    }
  }

  /** Something may have left the bucket without callers: unsubscribe then (looked at once per microtask). */
  changed(): void {
    if (this.unsubscribe === undefined || this.scanning) return;
    this.scanning = true;
    queueMicrotask(() => {
      this.scanning = false;
      if (this.bucket.isClosed || this.bucket.waits.room.length === 0) this.release();
    });
  }

  /** No caller pending (or closed): unsubscribe; the hub closes its connection when nothing listens. */
  release(): void {
    const unsubscribe = this.unsubscribe;
    if (unsubscribe === undefined) return;
    this.unsubscribe = undefined;
    this.live = false;
    this.subscribing = false;
    this.sentFrom = Number.POSITIVE_INFINITY;
    unsubscribe();
    this.wake();
  }

  /**
   * Resolves once the subscription is confirmed (or failed) and no check is queued or in flight, or
   * after `limit` ms (real time) at most; never rejects.
   */
  idle(limit: number): Promise<void> {
    return this.busy ? this.idlers.wait(limit) : Promise.resolve();
  }

  private get busy(): boolean {
    return this.subscribing || this.checking;
  }

  private wake(): void {
    if (!this.busy) this.idlers.wakeAll();
  }

  private readonly confirmed = (live: boolean): void => {
    if (this.unsubscribe === undefined) return; // left meanwhile
    this.subscribing = false;
    this.live = live;
    if (live) {
      this.since += 1;
      this.sentFrom = this.bucket.waits.takesSent + 1;
      this.cover = true; // the sleepers reserved before: a pause then reached nobody here
      this.queueCheck();
    }
    this.wake();
  };

  private readonly heard = (text: string): void => {
    const notice = readNotice(text);
    if (notice === undefined || this.unsubscribe === undefined) return; // not the script's: ignored
    if (this.notice === undefined || notice.gen > this.notice.gen) this.notice = notice;
    this.queueCheck();
  };

  private queueCheck(): void {
    if (this.checking) return;
    this.checking = true;
    this.giveBacks.whenFree(this.send);
  }

  /** Sends the check due, computed on the reservations as they are now. */
  private readonly send = (): void => {
    const { cover, notice } = this;
    this.cover = false;
    this.notice = undefined;
    const done = (): void => {
      this.checking = false;
      if (this.cover || this.notice !== undefined) this.queueCheck();
      this.changed();
      this.wake();
    };
    if (this.bucket.isClosed) {
      done();
      return;
    }
    const due = this.giveBacks.held().calls.filter((call) => {
      if (call.state !== 'sleeping' || call.confirming) return false;
      if (cover && !this.watched(call)) return true;
      if (notice === undefined) return false;
      const reservation = call.reservation;
      return reservation === undefined || reservation.origin !== notice.origin || reservation.gen < notice.gen;
    });
    if (due.length === 0) {
      done();
      return;
    }
    this.check(due, this.mark, done);
  };
}
