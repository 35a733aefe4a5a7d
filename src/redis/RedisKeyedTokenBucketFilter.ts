import { BucketCounters } from '../core/counters.js';
import { SignalWatch } from '../core/SignalWatch.js';
import type { QueueCap } from '../core/WaitingRoom.js';
import { BucketClosedError } from '../errors.js';
import { resolveReconfigure } from '../options/bucketOptions.js';
import type { GetTokenOptions, ReconfigureOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';
import { checkKey, resolveRedisOptions, type RedisConfig, type RedisKeyedTokenBucketOptions } from './options.js';
import { ScriptConfig } from './protocol.js';
import { RedisBucket, type SentConfig } from './RedisBucket.js';
import { ScriptCaller } from './ScriptCaller.js';

/**
 * RedisKeyedTokenBucketFilter is a family of Redis token buckets, one per key (a user, a tenant, an API
 * token), all with the same options: `await limiter.getToken(userId)`. Each key's bucket behaves exactly
 * like a {@link RedisTokenBucketFilter} and uses the same script; it is created in Redis by its first
 * use, full, with its refill schedule starting then, and its key expires by
 * itself once the bucket would be full again, so Redis holds only the keys in use. Locally, the store
 * keeps state only for keys with callers waiting in this process.
 *
 * Every key's configuration is stored in its key, as for a `RedisTokenBucketFilter`: the stored one is
 * in force until a reconfiguration replaces it or the key expires. `reconfigure()` changes the limits
 * this store sends, stamped with this process's wall clock: each key takes them at this store's next
 * use of it (at once for the keys with callers waiting here), and a key stored by a later
 * reconfiguration keeps that one. `stats()` counts this instance's calls over all keys.
 *
 * Each key has its own circuit breaker (all share `redisTimeout` and `breakerCooldown`): a failed key,
 * or a dead master of a Redis Cluster, leaves every other key answered on its merits, and a refusal's
 * `cause` is its own key's failure. When Redis is unavailable for a key, its calls fail per `failMode`
 * (there is no local fallback for keyed buckets); a key of the wrong type (`WRONGTYPE`) rejects every
 * call on it, `tryGetToken()` included, with `RedisKeyError`, and no other key notices. Calls are
 * batched per key: those made on a key while one is in flight on it travel together in that key's next
 * script call, in order.
 *
 * @example
 * import { createClient } from 'redis';
 * import { RedisKeyedTokenBucketFilter } from 'token-bucket-filter/redis';
 * const client = await createClient({ disableOfflineQueue: true }).connect();
 * const perUser = new RedisKeyedTokenBucketFilter({ client, prefix: 'api:', capacity: 5, refillInterval: 200 });
 * if (!(await perUser.tryGetToken('user-42'))) throw new Error('429 Too Many Requests');
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid.
 */
export class RedisKeyedTokenBucketFilter {
  private readonly config: RedisConfig;
  private readonly caller: ScriptCaller;
  /** The abort listeners of every key: one per signal, however many keys' callers share it. */
  private readonly signals = new SignalWatch();
  /** Buckets of keys with callers waiting in this instance. */
  private readonly active = new Map<string, RedisBucket>();
  /** The configuration every key's bucket sends. */
  private readonly sent: SentConfig;
  private readonly counters: BucketCounters;
  /** `maxQueue`, for this instance's queue of each key. */
  private readonly cap: QueueCap;
  private closed = false;

  constructor(options: RedisKeyedTokenBucketOptions) {
    this.config = resolveRedisOptions(options, []);
    for (const [i, limit] of this.config.limits.entries()) {
      if (limit.initialTokens === limit.capacity) continue;
      const name = Object.hasOwn(options, 'limits') ? `limits[${i}].initialTokens` : 'initialTokens';
      throw new RangeError(
        `${name} must equal capacity (${limit.capacity}) for the keyed Redis store, where a missing key is a full bucket; received ${limit.initialTokens}`,
      );
    }
    this.sent = { current: new ScriptConfig(this.config.limits, 0) };
    this.cap = { maxQueue: this.config.maxQueue };
    this.counters = new BucketCounters(this.config.events);
    this.caller = new ScriptCaller(this.config.runner, this.config.redisTimeout, this.config.breakerCooldown);
  }

  /** Most tokens one call may ask for on a key: the smallest capacity of the limits this store sends. */
  get capacity(): number {
    return this.sent.current.capacity;
  }

  /** Callers of this instance waiting right now, over all keys. */
  get pending(): number {
    let pending = 0;
    for (const bucket of this.active.values()) pending += bucket.pending;
    return pending;
  }

  /**
   * Like `RedisTokenBucketFilter.getToken()` on `key`'s bucket; also rejects `TypeError` for a bad key.
   * Never throws. A signal shared by callers of many keys holds one abort listener for them all.
   */
  getToken(key: string, count?: number, options?: GetTokenOptions): Promise<void> {
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const badKey = checkKey(key);
      if (badKey !== undefined) return Promise.reject(badKey);
      let bucket = this.active.get(key);
      if (bucket === undefined) {
        bucket = this.bucket(key);
        this.active.set(key, bucket);
      }
      const promise = bucket.getToken(count, options);
      const active = bucket;
      const release = (): void => {
        if (active.pending === 0 && this.active.get(key) === active) this.active.delete(key);
      };
      promise.then(release, release);
      return promise;
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Changes the limits this store sends, for every key (see the class): the keys with callers waiting in
   * this instance are reconfigured in Redis at once, as `RedisTokenBucketFilter.reconfigure()` does
   * (their queued callers re-planned), and every other key at this store's next use of it. Resolves once
   * the waiting keys hold the new limits; rejects (changing nothing) on invalid options and after
   * `close()`, and with `RedisUnavailableError` (or `RedisKeyError`) when a waiting key could not be
   * reconfigured (the others are). `maxQueue` is this instance's cap on each key's queue: it applies at once to later calls
   * (`{ maxQueue }` alone sends nothing).
   */
  reconfigure(options: ReconfigureOptions): Promise<void> {
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const { limits, maxQueue } = resolveReconfigure(options, this.sent.current.limits);
      if (maxQueue !== undefined) this.cap.maxQueue = maxQueue; // this instance's, for later calls
      if (limits === undefined) return Promise.resolve();
      const next = new ScriptConfig(limits, Math.max(Date.now(), this.sent.current.stamp + 1));
      const waiting = [...this.active.values()].map((bucket) => bucket.reconfigureTo(next));
      this.sent.current = next;
      return Promise.all(waiting).then(() => undefined);
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Like `RedisTokenBucketFilter.pause()` on `key`'s bucket: grants nothing on `key` for `ms` ms from
   * now, in every process sharing it (the other keys carry on); also rejects `TypeError` for a bad key.
   */
  pause(key: string, ms: number): Promise<void> {
    return this.query(key, (bucket) => bucket.pause(ms));
  }

  /** Returns a snapshot of this instance's counters over all keys (`pending`: callers waiting now); never throws. */
  stats(): TokenBucketStats {
    return this.counters.snapshot();
  }

  /** Like `RedisTokenBucketFilter.tryGetToken()` on `key`'s bucket; also rejects `TypeError` for a bad key. */
  tryGetToken(key: string, count?: number): Promise<boolean> {
    return this.query(key, (bucket) => bucket.tryGetToken(count));
  }

  /** Like `RedisTokenBucketFilter.waitTime()` on `key`'s bucket; also rejects `TypeError` for a bad key. */
  waitTime(key: string, count?: number): Promise<number> {
    return this.query(key, (bucket) => bucket.waitTime(count));
  }

  /**
   * Like `RedisTokenBucketFilter.available()` on `key`'s bucket (0 after `close()`); also rejects
   * `TypeError` for a bad key.
   */
  available(key: string): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    return this.query(key, (bucket) => bucket.available());
  }

  /** Rejects every waiter of this instance with `BucketClosedError`; later calls fail the same way. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let rejected = 0;
    for (const bucket of this.active.values()) rejected += bucket.close();
    this.active.clear();
    this.caller.close();
    this.counters.events?.closed(rejected);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves once every Redis call this instance started has settled, and the pause notices'
   * subscriptions of its keys with callers are confirmed (see `RedisTokenBucketFilter.idle()`).
   */
  async idle(): Promise<void> {
    await this.caller.idle();
    await Promise.all([...this.active.values()].map((bucket) => bucket.idle()));
  }

  private bucket(key: string): RedisBucket {
    return new RedisBucket({
      config: this.config,
      caller: this.caller,
      redisKey: `${this.config.prefix}{${key}}`,
      sent: this.sent,
      counters: this.counters,
      cap: this.cap,
      signals: this.signals,
      fallback: undefined,
      origin: '',
      started: true,
      eventKey: key,
    });
  }

  private query<T>(key: string, ask: (bucket: RedisBucket) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const badKey = checkKey(key);
    if (badKey !== undefined) return Promise.reject(badKey);
    return ask(this.active.get(key) ?? this.bucket(key));
  }
}
