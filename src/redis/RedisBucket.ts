import type { BucketCounters } from '../core/counters.js';
import { deferred } from '../core/deferred.js';
import type { SignalWatch } from '../core/SignalWatch.js';
import type { QueueCap } from '../core/WaitingRoom.js';
import { BucketClosedError } from '../errors.js';
import { resolveReconfigure } from '../options/bucketOptions.js';
import { checkCount, checkPauseMs, readGetTokenOptions } from '../options/requestOptions.js';
import type { TokenBucketFilter } from '../TokenBucketFilter.js';
import type { GetTokenOptions, ReconfigureOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';
import type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
import { BucketKey } from './BucketKey.js';
import type { Call } from './calls.js';
import { RedisKeyError } from './errors.js';
import { GiveBacks } from './GiveBacks.js';
import { Pauses } from './Pauses.js';
import type { RedisConfig } from './options.js';
import { OP_PEEK, ScriptConfig, TAKE_GRANTED, TAKE_OVER_CAPACITY, TAKE_RESERVED } from './protocol.js';
import type { ScriptCaller, ScriptReply } from './ScriptCaller.js';
import { Waits } from './Waits.js';

/** The configuration a bucket sends with every call: its own, or its keyed store's (shared by every key). */
export interface SentConfig {
  current: ScriptConfig;
}

/** What a Redis bucket is made of. The keyed store shares everything but the key among its buckets. */
export interface RedisBucketParts {
  readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  /** The Redis key holding the bucket's configuration and state. */
  readonly redisKey: string;
  readonly sent: SentConfig;
  readonly counters: BucketCounters;
  /** `maxQueue`: the cap on this instance's queue (for the keyed store, shared by its keys, each of which has its own queue). */
  readonly cap: QueueCap;
  /** The abort listeners: the keyed store's (one per signal for every key), or undefined: the bucket's own. */
  readonly signals: SignalWatch | undefined;
  readonly fallback: TokenBucketFilter | undefined;
  /** The script's origin argument for a first call that finds no key: '' (now), or a client-time reading. */
  readonly origin: string;
  /** Whether a missing key is a full bucket from the first call on (the keyed store's keys). */
  readonly started: boolean;
  /** The keyed store's key of this bucket, passed to the observer; undefined for a bucket of its own. */
  readonly eventKey?: string | undefined;
}

/**
 * RedisBucket is the behaviour of one Redis bucket, on parts given to it: `RedisTokenBucketFilter`
 * (which reads its parts from the user's options) and every key of `RedisKeyedTokenBucketFilter` (whose
 * parts are the store's) are RedisBuckets. Internal: see `RedisTokenBucketFilter` for the contract.
 * Decisions are the script's (a port of `src/core/decide.ts`); this class only sends them, sleeps until
 * the instants they return, and gives reservations back through {@link GiveBacks}.
 */
export class RedisBucket implements AsyncTokenBucketFilter {
  /** The bucket's key in Redis: what this bucket sends, and what it last saw in force. */
  readonly key: BucketKey;
  private readonly counters: BucketCounters;
  private readonly fallback: TokenBucketFilter | undefined;
  /** The calls of `getToken()`, from the take sent to the grant, and this instance's waiting room. */
  readonly waits: Waits;
  /** Reservations in Redis order, and give-backs. */
  private readonly giveBacks: GiveBacks;
  private readonly pauses: Pauses;
  private closed = false;

  constructor(parts: RedisBucketParts) {
    this.key = new BucketKey(parts);
    this.counters = parts.counters;
    this.fallback = parts.fallback;
    this.giveBacks = new GiveBacks(this);
    this.pauses = new Pauses(this, this.giveBacks);
    this.giveBacks.watch = this.pauses.watch;
    this.waits = new Waits(
      this.key,
      parts,
      this.giveBacks,
      () => this.closed,
      (head: Call, now: number) => this.pauses.ready(head, now),
    );
  }

  /** The largest count one call may ask for: the smallest capacity of the limits in force in Redis as last seen. */
  get capacity(): number {
    return this.key.inForce.capacity;
  }

  /** Callers of this instance waiting right now: sent to Redis, or sleeping on a reservation. */
  get pending(): number {
    return this.waits.room.length;
  }

  /** Whether `close()` has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  async available(): Promise<number> {
    if (this.closed) return 0;
    const args = this.key.args(OP_PEEK, this.key.decisionNow(), ['1']);
    try {
      return (await this.key.ask(args, 3))[1] ?? 0;
    } catch (error) {
      if (this.fallback === undefined || error instanceof RedisKeyError) throw error;
      return this.fallback.available;
    }
  }

  async tryGetToken(count = 1): Promise<boolean> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const calledAt = this.key.callReading();
    let granted: boolean;
    try {
      const take = this.key.readTake(await this.key.takeNow(count, calledAt, this.late), 0);
      if (take.status === TAKE_OVER_CAPACITY) throw checkCount(count, this.capacity) as RangeError;
      granted = take.status === TAKE_GRANTED;
    } catch (error) {
      if (error instanceof RangeError || error instanceof RedisKeyError) throw error;
      granted = this.fallback === undefined ? this.key.config.failMode === 'open' : this.fallback.tryGetToken(count);
    }
    const events = this.counters.events;
    if (granted) {
      this.waits.granted(count);
      events?.granted(count, 0, this.waits.eventKey);
    } else {
      this.counters.denied += 1;
      events?.refused(count, 'denied', this.waits.eventKey);
    }
    return granted;
  }

  async waitTime(count = 1): Promise<number> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const args = this.key.args(OP_PEEK, this.key.decisionNow(), [String(count)]);
    let values: number[];
    try {
      values = await this.key.ask(args, 3);
    } catch (error) {
      if (this.fallback === undefined || error instanceof RedisKeyError) throw error;
      return this.fallback.waitTime(count);
    }
    if (values[0] === TAKE_OVER_CAPACITY) throw checkCount(count, this.capacity) as RangeError;
    return values[2] ?? 0;
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      return this.waits.send(count, readGetTokenOptions(options));
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Changes the limits in Redis, for every process sharing the key, and this instance's `maxQueue`;
   * see `RedisTokenBucketFilter.reconfigure()`. Rejects (never throws) on invalid options, after
   * `close()`, and with `RedisUnavailableError` when Redis does not take it (then nothing changed).
   */
  reconfigure(options: ReconfigureOptions): Promise<void> {
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const { limits, maxQueue } = resolveReconfigure(options, this.key.inForce.limits);
      const cap = this.waits.cap;
      if (limits === undefined) {
        if (maxQueue !== undefined) cap.maxQueue = maxQueue; // this instance's alone: nothing to send
        return Promise.resolve();
      }
      const stamp = Math.max(Date.now(), this.key.sent.current.stamp + 1, this.key.inForce.stamp + 1);
      const done = this.reconfigureTo(new ScriptConfig(limits, stamp));
      // Once Redis holds the new limits, with them: a failed reconfiguration changes nothing.
      return maxQueue === undefined
        ? done
        : done.then(() => {
            cap.maxQueue = maxQueue;
          });
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /** Puts `next` in force in Redis (and, on success, as the configuration this bucket sends). */
  reconfigureTo(next: ScriptConfig): Promise<void> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const { promise, resolve, reject } = deferred();
    try {
      this.giveBacks.reconfigure(next, resolve, reject);
    } catch (invalid) {
      reject(invalid); // an invalid clock reading: nothing was sent
    }
    return promise;
  }

  /**
   * Grants nothing for `ms` ms from now, in every process sharing the key; see
   * `RedisTokenBucketFilter.pause()`. Rejects (never throws) like the in-process `pause()` for a bad
   * `ms` and after `close()`, and with `RedisUnavailableError` or `InvalidClockReadingError`.
   */
  pause(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const invalid = checkPauseMs(ms);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.pauses.pause(ms);
  }

  /** Returns a snapshot of this instance's counters (a keyed store's: of all its keys); never throws. */
  stats(): TokenBucketStats {
    return this.counters.snapshot();
  }

  /**
   * Rejects each waiter of this instance with `BucketClosedError` (giving their reserved tokens back
   * where that is safe, in the background), stops its timer, and makes later calls fail the same way.
   * The bucket in Redis is untouched. Closing twice is harmless. Returns how many waiters it rejected
   * (0 when already closed), for the observer, which the public classes tell.
   */
  close(): number {
    if (this.closed) return 0;
    this.closed = true;
    const closedError = new BucketClosedError();
    const rejected = this.waits.room.close(closedError);
    for (const call of rejected) {
      call.state = 'done';
      call.unwanted = true;
    }
    this.waits.leftFallback(rejected, closedError); // their fallback's waits take nothing after close()
    this.giveBacks.closed();
    return rejected.length;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves once every Redis call this instance started has its reply, its pause notices'
   * subscription is confirmed and the check that follows answered (each within twice `redisTimeout`).
   */
  async idle(): Promise<void> {
    const caller = this.key.caller;
    await caller.idle();
    await this.pauses.watch.idle(2 * this.key.config.redisTimeout);
    await caller.idle(); // what the check's answer sent
  }

  /** A `tryGetToken()` reply that came after our timeout: the caller was already answered, so give back what it took. */
  private readonly late = (reply: ScriptReply): void => {
    try {
      const take = this.key.readTake(this.key.observe(reply), 0);
      if (take.status === TAKE_GRANTED || take.status === TAKE_RESERVED) this.giveBacks.cancel(take.reservation);
    } catch {
      // A malformed late reply: nothing is known to give back.
    }
  };
}
