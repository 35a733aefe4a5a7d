import { SignalWatch } from '../core/SignalWatch.js';
import { BucketClosedError } from '../errors.js';
import type { GetTokenOptions } from '../TokenBucketFilter.js';
import { checkKey, resolveRedisOptions, type RedisConfig, type RedisKeyedTokenBucketOptions } from './options.js';
import { bucketOnShared, type RedisTokenBucketFilter } from './RedisTokenBucketFilter.js';
import { ScriptCaller } from './ScriptCaller.js';

/**
 * RedisKeyedTokenBucketFilter is a family of Redis token buckets, one per key (a user, a tenant, an API
 * token), all with the same options: `await limiter.getToken(userId)`. Each key's bucket behaves exactly
 * like a {@link RedisTokenBucketFilter} and uses the same script; it is created in Redis by its first
 * use, full, with its refill schedule starting then, and its key expires by
 * itself once the bucket would be full again, so Redis holds only the keys in use. Locally, the store
 * keeps state only for keys with callers waiting in this process.
 *
 * All keys share one circuit breaker and `redisTimeout`; when Redis is unavailable the store fails per
 * `failMode` (there is no local fallback for keyed buckets).
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
  /** Most tokens each key's bucket holds. */
  readonly capacity: number;
  private readonly config: RedisConfig;
  private readonly caller: ScriptCaller;
  /** The abort listeners of every key: one per signal, however many keys' callers share it. */
  private readonly signals = new SignalWatch();
  /** Buckets of keys with callers waiting in this instance. */
  private readonly active = new Map<string, RedisTokenBucketFilter>();
  private closed = false;

  constructor(options: RedisKeyedTokenBucketOptions) {
    this.config = resolveRedisOptions(options, []);
    if (this.config.initialTokens !== String(this.config.capacity)) {
      throw new RangeError(
        `initialTokens must equal capacity (${this.config.capacity}) for the keyed Redis store, where a missing key is a full bucket; received ${this.config.initialTokens}`,
      );
    }
    this.capacity = this.config.capacity;
    this.caller = new ScriptCaller(this.config.runner, this.config.redisTimeout, this.config.breakerCooldown);
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
    for (const bucket of this.active.values()) bucket.close();
    this.active.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Resolves once every Redis call this instance started has settled (see `RedisTokenBucketFilter.idle()`). */
  idle(): Promise<void> {
    return this.caller.idle();
  }

  private bucket(key: string): RedisTokenBucketFilter {
    return bucketOnShared({
      config: this.config,
      caller: this.caller,
      key: `${this.config.prefix}{${key}}`,
      signals: this.signals,
    });
  }

  private query<T>(key: string, ask: (bucket: RedisTokenBucketFilter) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const badKey = checkKey(key);
    if (badKey !== undefined) return Promise.reject(badKey);
    return ask(this.active.get(key) ?? this.bucket(key));
  }
}
