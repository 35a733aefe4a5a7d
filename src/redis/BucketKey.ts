import { globalClock, readClock, tryReadClock, type Clock } from '../clock.js';
import { epochClock } from './calls.js';
import { RedisUnavailableError, type ScriptFailure } from './errors.js';
import type { RedisConfig } from './options.js';
import { OP_TAKE, ScriptConfig, takeAt, takesAt, type TakeReply } from './protocol.js';
import type { RedisBucketParts, SentConfig } from './RedisBucket.js';
import type { ScriptCaller, ScriptReply, TakeRequest } from './ScriptCaller.js';

/**
 * A key as a reply showed it: the origin of its schedule (ms), under the stamp of the configuration in
 * force. A key created anew (Redis lost the old one) has another origin under the same stamp; a
 * reconfiguration moves the origin and the stamp.
 */
export interface Incarnation {
  readonly origin: number;
  readonly stamp: number;
}

/**
 * BucketKey is one Redis bucket's link to its key: the script's arguments it sends (its configuration,
 * its time, its origin and what a missing key holds), and what it reads back (the configuration in
 * force as last seen, and the takes of a reply). No decision and no waiting here.
 */
export class BucketKey {
  readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  /** The Redis key holding the bucket's configuration and state. */
  readonly redisKey: string;
  readonly sent: SentConfig;
  /** The configuration in force in Redis as last seen (the one sent, until a reply says otherwise). */
  private view: ScriptConfig;
  private readonly origin: string;
  /** The last valid reading of the time clock taken for a call, if any. */
  private lastReading: number | undefined = undefined;
  /**
   * Whether a call has had a reply, so the key exists or existed: from then on a missing key has
   * expired once full, and is passed to the script as a full bucket.
   */
  private started: boolean;
  /** The key as the last reply holding takes showed it; undefined before the first. */
  incarnation: Incarnation | undefined = undefined;
  /** Told when a reply shows the key created anew (Redis lost the one {@link incarnation} was), with that lost one. */
  onRecreated: ((lost: Incarnation) => void) | undefined = undefined;
  /** Told of every reply on this key (Redis answers again: a re-assert that failed may go now). */
  onAnswer: (() => void) | undefined = undefined;

  constructor(parts: RedisBucketParts) {
    this.config = parts.config;
    this.caller = parts.caller;
    this.redisKey = parts.redisKey;
    this.sent = parts.sent;
    this.view = parts.sent.current;
    this.origin = parts.origin;
    this.started = parts.started;
  }

  /** Where decisions read time (client time), or where local sleeps are measured (Redis time). */
  get timeClock(): Clock {
    return this.config.clock ?? (this.config.clientTime ? epochClock : globalClock());
  }

  /** The configuration in force in Redis as last seen. */
  get inForce(): ScriptConfig {
    return this.view;
  }

  /** Makes `next` the configuration this key's bucket sends, and the one it sees in force. */
  adopt(next: ScriptConfig): void {
    this.sent.current = next;
    this.view = next;
  }

  /** The script's `now` for a background call, or undefined on an invalid client-time reading. */
  backgroundNow(): string | undefined {
    if (!this.config.clientTime) return '';
    const now = tryReadClock(this.timeClock);
    if (now === undefined) return undefined;
    this.lastReading = now;
    return String(now);
  }

  /**
   * The script's `now` for a call that only gives tokens back (re-deciding nothing): like
   * {@link backgroundNow}, but on an invalid reading the last valid one this key took (the script
   * then only sets the key's expiry from it, later than needed, never earlier). Undefined when there
   * was none: nothing can have been reserved then.
   */
  giveBackNow(): string | undefined {
    return this.backgroundNow() ?? (this.lastReading === undefined ? undefined : String(this.lastReading));
  }

  /** Reads the time clock (throws `InvalidClockReadingError` on an invalid reading), noting a valid one for {@link giveBackNow}. */
  read(): number {
    const now = readClock(this.timeClock);
    this.lastReading = now;
    return now;
  }

  /**
   * The script's arguments for `op` at `now` ('' for Redis TIME), sending `config` (by default the
   * bucket's), followed by `tail`.
   */
  args(op: number, now: string, tail: readonly string[], config = this.sent.current): string[] {
    return [String(op), config.text, now, this.missing(config), ...tail];
  }

  /** What a missing key holds: '' (full, its schedule starting now), or `origin|tokens,...` per limit. */
  private missing(config: ScriptConfig): string {
    let full = this.origin === '';
    const initial = config.limits.map(({ capacity }, i) => {
      const tokens = this.started ? capacity : Math.min(capacity, this.config.limits[i]?.initialTokens ?? capacity);
      if (tokens !== capacity) full = false;
      return tokens;
    });
    return full ? '' : `${this.origin}|${initial.join(',')}`;
  }

  /**
   * The reading of the time clock a take is called at: the decision's time with client time (throws
   * `InvalidClockReadingError` on an invalid reading), 0 with Redis time (where a `tryGetToken()`
   * needs none).
   */
  callReading(): number {
    return this.config.clientTime ? this.read() : 0;
  }

  /**
   * Sends a take of `count` tokens in this key's next script call (see `ScriptCaller.take`): `maxWait`
   * ms (undefined or Infinity: unlimited) counted from `calledAt`, a reading of the time clock at the
   * call. With client time the take is decided at `calledAt`; with Redis time at its arrival, so the
   * time it waited for its call is taken off its `maxWait` (then rounded down to whole ms). `wanted` is asked when the call is sent:
   * false withdraws it. The callbacks get the take's own values, as {@link ScriptCaller.take} says.
   */
  take(
    count: number,
    maxWait: number | undefined,
    calledAt: number,
    wanted: () => boolean,
    resolve: (reply: ScriptReply) => void,
    reject: (error: ScriptFailure) => void,
    late?: (reply: ScriptReply) => void,
  ): void {
    this.caller.take(this.redisKey, this.request(count, maxWait, calledAt, wanted), resolve, reject, late);
  }

  /** Like {@link take} for `tryGetToken()` (maxWait 0, always wanted), as a promise of the take's values (noted). */
  async takeNow(count: number, calledAt: number, late: (reply: ScriptReply) => void): Promise<number[]> {
    return this.observe(
      await this.caller.runTake(
        this.redisKey,
        this.request(count, 0, calledAt, () => true),
        late,
      ),
    );
  }

  private request(count: number, maxWait: number | undefined, calledAt: number, wanted: () => boolean): TakeRequest {
    const unlimited = maxWait === undefined || maxWait === Number.POSITIVE_INFINITY;
    return {
      tuple: () => {
        if (!wanted()) return undefined;
        if (this.config.clientTime) return [String(count), unlimited ? '' : String(maxWait), String(calledAt)];
        if (unlimited || maxWait === 0) return [String(count), unlimited ? '' : '0'];
        const now = tryReadClock(this.timeClock);
        if (now === undefined || !(now > calledAt)) return [String(count), String(maxWait)];
        // Rounded down to whole ms: never later than maxWait after the call, and calls queued in the same
        // ms send the same value (one run of takes).
        return [String(count), String(Math.max(0, Math.floor(maxWait - (now - calledAt))))];
      },
      head: (first) => this.args(OP_TAKE, this.config.clientTime ? (first[2] ?? '') : '', []),
    };
  }

  /** Called on every reply of this key (Redis answers): the bucket's give-backs retry what failed. */
  answered: (() => void) | undefined = undefined;

  /** Notes a reply: the key exists, and the configuration in force is the stored one it names, if any. */
  observe(reply: ScriptReply): number[] {
    this.started = true;
    this.answered?.();
    this.onAnswer?.();
    if (reply.stored === undefined) this.view = this.sent.current;
    else if (reply.stored !== this.view.text) {
      try {
        this.view = ScriptConfig.parse(reply.stored);
      } catch (invalid) {
        throw new RedisUnavailableError(invalid);
      }
    }
    // A reconfiguration later than the one this bucket sends becomes its own: the key expires once
    // full, and is then created again with the latest limits this process has seen, not older ones.
    if (this.view.stamp > this.sent.current.stamp) this.sent.current = this.view;
    return reply.values;
  }

  /** Reads the first take of the block at `offset` (see `takesAt`), throwing `RedisUnavailableError` when the reply is malformed. */
  readTake(values: readonly number[], offset: number): TakeReply {
    let take: TakeReply;
    try {
      take = takeAt(values, offset, this.view.limits.length);
    } catch (invalid) {
      throw new RedisUnavailableError(invalid);
    }
    this.noteOrigin(take.reservation.origin);
    return take;
  }

  /** Reads every take of the block at `offset` (see `takesAt`), throwing `RedisUnavailableError` when the reply is malformed. */
  readTakes(values: readonly number[], offset: number): TakeReply[] {
    let takes: TakeReply[];
    try {
      takes = takesAt(values, offset, this.view.limits.length);
    } catch (invalid) {
      throw new RedisUnavailableError(invalid);
    }
    const origin = values[offset];
    if (origin !== undefined) this.noteOrigin(origin);
    return takes;
  }

  /** Notes the origin a reply of takes showed; one that moved under the same stamp means the key was created anew. */
  private noteOrigin(origin: number): void {
    const seen = this.incarnation;
    const stamp = this.view.stamp;
    if (seen !== undefined && seen.origin === origin && seen.stamp === stamp) return;
    this.incarnation = { origin, stamp };
    if (seen !== undefined && seen.origin !== origin && seen.stamp === stamp) this.onRecreated?.(seen);
  }

  /**
   * The local clock reading at which a take granted `grantAt` (the decision's time), `wait` ms after
   * the decision, is due: `grantAt` itself with client time, the local reading now plus `wait` with
   * Redis time. Throws `InvalidClockReadingError` when that local reading is invalid.
   */
  deadline(wait: number, grantAt: number): number {
    return this.config.clientTime ? grantAt : readClock(this.timeClock) + wait;
  }

  /** Runs the script and notes its reply; rejects with `RedisUnavailableError`. */
  async ask(args: string[], length: number, late?: (reply: ScriptReply) => void): Promise<number[]> {
    return this.observe(await this.caller.run(this.redisKey, args, length, late));
  }

  /** The script's `now`: this process's reading with client time, '' (Redis TIME) otherwise. Throws on an invalid reading. */
  decisionNow(): string {
    return this.config.clientTime ? String(this.read()) : '';
  }
}
