import { readClock, tryReadClock } from '../clock.js';
import { deferred } from '../core/deferred.js';
import type { Call } from './calls.js';
import { RedisKeyError, RedisUnavailableError } from './errors.js';
import type { GiveBacks } from './GiveBacks.js';
import {
  OP_PAUSE,
  PAUSE_UNCHANGED,
  pauseArgs,
  TAKE_GRANTED,
  TAKE_OVER_CAPACITY,
  TAKE_TOO_LATE,
  PAUSED_GEN,
  type ReplayPair,
} from './protocol.js';
import { PauseWatch } from './PauseWatch.js';
import type { RedisBucket } from './RedisBucket.js';

/**
 * Pauses is a Redis bucket's side of `pause(ms)`, for every process sharing the key. The pause lives in
 * the key (the script's op 5, the core's `pauseUntil()` ported on the tail, whose reservations keep
 * their tokens) and adds 2^32 to the key's generation, so a reservation's generation tells whether a
 * pause came after it: such a reservation is void for a caller that asks, which is decided again. This
 * bucket's sleeping callers are decided again in the same call, in order, behind the pause. The script
 * publishes the pause, and every other bucket with sleepers on the key hears it ({@link PauseWatch})
 * and re-plans them with one check ({@link check}), within about one round trip, with no Redis call at
 * a wake. A sleeper asks Redis at its grant instant ({@link ready}, one script call for every sleeper
 * due then) only when its bucket was created with `pausable: true`, or when it reserved on a key paused
 * before (as before the notices: a sleeper due before a notice arrives is held too). Every rewrite of this class waits for the one in flight
 * (`GiveBacks.whenFree`): two computed on the same reservations would take their tokens twice.
 */
export class Pauses {
  /** The takes this bucket had sent at its latest pause: those still in flight then ask before their grant. */
  private takesAtPause = 0;
  /** The pause notices of other processes, while this bucket has callers. */
  readonly watch: PauseWatch;

  constructor(
    private readonly bucket: RedisBucket,
    private readonly giveBacks: GiveBacks,
  ) {
    this.watch = new PauseWatch(bucket, giveBacks, (due, mark, done) => {
      this.check(due, mark, done);
    });
  }

  /**
   * Pauses the key for `ms` ms from the script's now (validated by the caller). Resolves once Redis
   * holds the pause and this bucket's sleepers are re-planned; rejects with `RedisUnavailableError`, or
   * `InvalidClockReadingError` (nothing sent). Throws nothing.
   */
  pause(ms: number): Promise<void> {
    const { promise, resolve, reject } = deferred();
    try {
      const key = this.bucket.key;
      const now = key.backgroundNow() ?? String(readClock(key.timeClock)); // throws on an invalid reading
      const local = readClock(key.timeClock);
      // Behind the rewrite in flight, if any, on the reservations as it leaves them.
      this.giveBacks.whenFree(() => {
        const { calls, start } = this.giveBacks.held();
        const chain = calls.slice(start);
        this.takesAtPause = this.bucket.waits.takesSent;
        this.replan(
          key.args(OP_PAUSE, now, []),
          local,
          chain,
          ms,
          undefined,
          calls,
          () => {
            resolve();
          },
          reject,
        );
      });
    } catch (invalid) {
      reject(invalid);
    }
    return promise;
  }

  /**
   * The room's `ready()`: `head` is due at local reading `now`. Asks Redis first with `pausable`, or when
   * the key had been paused before `head` reserved.
   * True once Redis said no pause has voided its reservation; otherwise asks, for every sleeper due by
   * `now`, and returns false (the reply grants them, or re-plans every sleeper after the pause).
   */
  ready(head: Call, now: number): boolean {
    if (head.confirmed) return true;
    // Made on a key never paused in its life, by a bucket created without pausable, and not in flight
    // during a pause of this bucket: granted as planned.
    // A key paused before asks too, notices or not: a sleeper due before a later pause's notice arrives
    // (under a fake clock: before it arrives at all) is then still held.
    const pausedBefore = (head.reservation?.gen ?? 0) >= PAUSED_GEN || head.seq <= this.takesAtPause;
    if (!this.bucket.key.config.pausable && !pausedBefore) return true;
    const key = this.bucket.key;
    const at = key.backgroundNow();
    if (at === undefined) return false; // an invalid reading: the room paces and comes back
    const due = this.giveBacks
      .held()
      .calls.filter((call) => call.state === 'sleeping' && !call.confirmed && !call.confirming && call.deadline <= now);
    const { check, settle } = holdForCheck(due);
    // Behind the rewrite in flight, if any (never inside the room's drain, which asked).
    this.giveBacks.whenFree(() => {
      const { calls, start } = this.giveBacks.held();
      this.replan(
        key.args(OP_PAUSE, at, []),
        now,
        calls.slice(start),
        undefined,
        check,
        calls,
        () => {
          settle();
          this.giveBacks.reorder();
        },
        (error) => {
          // A refusing breaker rejects at once: not inside the caller's stack.
          queueMicrotask(() => {
            settle();
            this.unconfirmed(due, error);
          });
        },
        due,
      );
    });
    return false;
  }

  /**
   * A pause notice, or a new subscription (see `PauseWatch`): checks whether a pause came after the
   * earliest reservation of `due` (sleeping calls), re-planning every sleeper behind it if so. They
   * are held meanwhile (not granted at their instant before the answer). `mark` goes to the calls the
   * answer re-decides or finds unpaused; `done` runs after the answer, or the failure (then they ask
   * at their instant as {@link ready} says).
   */
  check(due: readonly Call[], mark: number, done: () => void): void {
    const key = this.bucket.key;
    const at = key.backgroundNow();
    const local = tryReadClock(key.timeClock);
    if (at === undefined || local === undefined) {
      done(); // an invalid reading: they ask at their instant, as before
      return;
    }
    const { check, settle } = holdForCheck(due);
    const { calls, start } = this.giveBacks.held();
    this.replan(
      key.args(OP_PAUSE, at, []),
      local,
      calls.slice(start),
      undefined,
      check,
      calls,
      (unchanged) => {
        settle();
        if (unchanged) for (const call of due) call.watch = mark;
        this.giveBacks.reorder();
        done();
      },
      () => {
        settle();
        const room = this.bucket.waits.room;
        room.drain(tryReadClock(key.timeClock));
        room.rearm();
        done();
      },
      [],
      mark,
    );
  }

  /**
   * Sends op 5 (`ms` set: a pause; else a check of generation `check`), giving back `chain` if it is
   * still the last and re-deciding every sleeping call of `calls` if Redis pauses or finds a pause.
   * On "unchanged", `confirm` (if any) are confirmed.
   */
  private replan(
    head: string[],
    local: number,
    chain: readonly Call[],
    ms: number | undefined,
    check: number | undefined,
    calls: readonly Call[],
    resolve: (unchanged: boolean) => void,
    reject: (error: unknown) => void,
    confirm: readonly Call[] = [],
    mark = this.watch.mark,
  ): void {
    const bucket = this.bucket;
    const key = bucket.key;
    const kept = calls.filter((call) => call.state === 'sleeping');
    const elapsed = kept.map((call) => local - call.calledAt);
    const pairs = kept.map((call, i): ReplayPair => {
      const maxWait = call.maxWait === undefined ? undefined : Math.max(0, call.maxWait - (elapsed[i] ?? 0));
      return [call.count, maxWait];
    });
    const args = [...head, ...pauseArgs(chain[chain.length - 1]?.reservation, chain[0]?.reservation, ms, check, pairs)];
    this.giveBacks.rewrite(
      args,
      (values) => {
        if (values[0] === PAUSE_UNCHANGED) {
          for (const call of confirm) if (call.state === 'sleeping') call.confirmed = true;
          resolve(true);
          return;
        }
        const takes = this.giveBacks.replies(values, kept.length);
        // Every reservation made before the pause is void: none of them goes back.
        for (const call of calls) call.reservation = undefined;
        kept.forEach((call, i) => {
          const take = takes[i];
          if (take === undefined || call.state !== 'sleeping') return;
          if (take.status === TAKE_TOO_LATE) {
            bucket.waits.maxWaitBroken(call, take.wait + (elapsed[i] ?? 0));
            return;
          }
          if (take.status === TAKE_OVER_CAPACITY) {
            bucket.waits.overCapacity(call, key.inForce.capacity);
            return;
          }
          call.reservation = take.reservation;
          call.watch = mark;
          // Decided after every pause: granted now is final; a reservation asks again at its instant.
          call.confirmed = take.status === TAKE_GRANTED;
          try {
            call.deadline = key.deadline(take.wait, take.grantAt);
          } catch {
            call.deadline = Math.max(call.deadline, local + take.wait); // an invalid reading: never early
          }
        });
        resolve(false);
        this.giveBacks.reorder();
        this.watch.changed();
      },
      reject,
    );
  }

  /** A check failed: with `failMode: 'open'` the due calls are granted, otherwise rejected with `error`. */
  private unconfirmed(due: readonly Call[], error: unknown): void {
    const waits = this.bucket.waits;
    // A key of another type is a bug to surface, never an outage to grant through.
    const open = this.bucket.key.config.failMode === 'open' && !(error instanceof RedisKeyError);
    for (const call of due) {
      if (call.state !== 'sleeping') continue;
      if (open) {
        call.confirmed = true;
        continue;
      }
      call.state = 'done';
      call.unwanted = true;
      const refusal =
        error instanceof RedisUnavailableError || error instanceof RedisKeyError
          ? error
          : new RedisUnavailableError(error);
      waits.room.refuse(call, refusal);
    }
    waits.room.drain(tryReadClock(this.bucket.key.timeClock));
    waits.room.rearm();
  }
}

/**
 * Marks `due` (sleeping calls) as held while a check asks Redis about them, and returns the
 * generation to check (the earliest of their reservations; -1, re-plan, when one has none) and the
 * function that releases them once it is answered.
 */
function holdForCheck(due: readonly Call[]): { check: number; settle: () => void } {
  let check = Number.POSITIVE_INFINITY;
  for (const call of due) {
    call.confirming = true;
    check = Math.min(check, call.reservation?.gen ?? Number.NEGATIVE_INFINITY);
  }
  if (!Number.isFinite(check)) check = -1; // no reservation known: re-plan
  return {
    check,
    settle: () => {
      for (const call of due) call.confirming = false;
    },
  };
}
