import { readClock } from '../clock.js';
import { BucketCounters } from '../core/counters.js';
import { formatValue, ownOption } from '../options/format.js';
import type { TokenBucketFilter } from '../TokenBucketFilter.js';
import type { GetTokenOptions, ReconfigureOptions } from '../types/options.js';
import type { TokenBucketStats } from '../types/stats.js';
import type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
import { epochClock } from './calls.js';
import { checkKey, resolveRedisOptions, type RedisTokenBucketOptions } from './options.js';
import { ScriptConfig } from './protocol.js';
import { RedisBucket } from './RedisBucket.js';
import { ScriptCaller } from './ScriptCaller.js';

/** Returns `fallback` if it is a `TokenBucketFilter` (or undefined); throws `TypeError` naming it otherwise. */
function checkFallback(fallback: unknown): TokenBucketFilter | undefined {
  if (fallback === undefined) return undefined;
  const valid =
    typeof fallback === 'object' &&
    fallback !== null &&
    ['getToken', 'tryGetToken', 'waitTime'].every(
      (method) => typeof (fallback as Record<string, unknown>)[method] === 'function',
    );
  if (!valid) throw new TypeError(`fallback must be a TokenBucketFilter, received ${formatValue(fallback)}`);
  return fallback as TokenBucketFilter;
}

/**
 * RedisTokenBucketFilter is one token bucket shared by every process and machine through Redis (or
 * Valkey): `await bucket.getToken()` before each call to a limited resource, in any number of processes,
 * and together they stay within one limit, or several (`limits: [...]`, such as "10 per second and
 * 10,000 per day": a grant waits until every limit holds the count, and takes it from each).
 *
 * It keeps the core semantics: tokens arrive in steps of `refillTokens` every `refillInterval` ms,
 * integer arithmetic, at most `capacity` held, strict FIFO across all processes in order of arrival at
 * Redis. Each decision is one atomic Lua script (`EVALSHA`, resent with `EVAL` after `NOSCRIPT`, so a
 * Redis restart or `SCRIPT FLUSH` heals by itself) on one key, `` `${prefix}{${key}}` `` (hash-tagged for
 * Redis Cluster), which expires by itself once the bucket would be full again. The `getToken()` and
 * `tryGetToken()` calls this instance makes while one of them is in flight travel together in its next
 * script call, which decides them in the order they were made (each keeps its own `redisTimeout`). The script is a declared
 * port of the core's decision (`src/core/decide.ts`): every step instant and count is the in-process
 * buckets', fractional intervals included.
 *
 * The key stores the configuration with the state, so one key never enforces two configurations. A
 * process created with other limits than the stored ones is decided on the stored ones (its `capacity`
 * follows them from its first reply; a count above the stored capacity rejects with the core's
 * `RangeError`) until a `reconfigure()` replaces them, or the key expires once the bucket is full again
 * (then the first process to use it stores the latest reconfiguration it has seen, else its own
 * options).
 *
 * A `getToken()` that must wait reserves its tokens in the same call and learns its exact grant
 * instant, then sleeps locally: at most one Redis call per granted call (and one check when this
 * instance's first caller starts sleeping: see `pause()`), no polling. Aborting a waiter gives
 * its tokens back, and the callers of this instance behind it move up, when nobody else has reserved
 * since it did (its reservation and this instance's later ones are the last); otherwise the callers
 * behind keep their grant instants, and the aborted tokens go back to the tail when that is exact
 * (the cap cannot have absorbed them since: see the README), else they are simply unused.
 *
 * With `timeSource: 'client'`, each decision passes this process's clock reading; one that is not a
 * finite number within ±2^42 ms is refused (`InvalidClockReadingError`) before anything is sent, and a
 * sleeping caller whose timer wakes on one is granted once the readings are valid again. With Redis
 * time, the local clock only paces sleeps: `getToken()` refuses an invalid local reading the same way.
 *
 * Because the state is remote, this is an `AsyncTokenBucketFilter`: `tryGetToken()`, `waitTime()`,
 * `available()` and `reconfigure()` answer with promises, and `pending` and `stats()` count this
 * instance's callers.
 *
 * When Redis fails or does not answer within `redisTimeout` ms, the bucket fails closed by default:
 * `getToken()` rejects with `RedisUnavailableError` (its `cause` says why) and `tryGetToken()` resolves
 * false; with `failMode: 'open'` every call is granted; with a `fallback` bucket, that bucket answers.
 * `waitTime()` and `available()` reject with `RedisUnavailableError` unless there is a fallback. An
 * invalid clock reading is not an unavailable Redis: it rejects with `InvalidClockReadingError` whatever
 * `failMode` and `fallback` say. Nor is a key of the wrong type: every call (`tryGetToken()` included)
 * rejects with `RedisKeyError`, which neither `failMode: 'open'` nor the fallback turns into a grant.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { RedisTokenBucketFilter } from 'token-bucket-filter/redis';
 * const client = new Redis({ enableOfflineQueue: false, lazyConnect: true });
 * await client.connect(); // without an offline queue, commands fail until connected
 * const bucket = new RedisTokenBucketFilter({ client, key: 'github-api', capacity: 10, refillTokens: 10 });
 * await bucket.getToken(); // at most 10 per second across every process
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid (the message names
 * the option and the value), and `InvalidClockReadingError` with `timeSource: 'client'` when the
 * clock's reading is invalid.
 */
export class RedisTokenBucketFilter implements AsyncTokenBucketFilter {
  /** The Redis key holding this bucket's configuration and state. */
  readonly redisKey: string;
  private readonly bucket: RedisBucket;
  private readonly counters: BucketCounters;
  private readonly caller: ScriptCaller;

  /**
   * Creates a bucket named `options.key`; no Redis call is made until the first use. Options are read
   * once, as own properties only. If this instance's first call finds no key, the bucket is new: its
   * limits are this instance's, it holds `initialTokens` and its refill schedule starts at this
   * instance's creation (client time) or at that call (Redis time). A key found missing later has
   * expired, which happens only once the bucket would have been full: it is a full bucket.
   */
  constructor(options: RedisTokenBucketOptions) {
    const config = resolveRedisOptions(options, ['key', 'fallback']);
    const key = ownOption(options, 'key');
    const badKey = checkKey(key);
    if (badKey !== undefined) throw badKey;
    const fallback = checkFallback(ownOption(options, 'fallback'));
    this.redisKey = `${config.prefix}{${key as string}}`;
    this.counters = new BucketCounters(config.events);
    this.caller = new ScriptCaller(config.runner, config.redisTimeout, config.breakerCooldown);
    this.bucket = new RedisBucket({
      config,
      caller: this.caller,
      redisKey: this.redisKey,
      sent: { current: new ScriptConfig(config.limits, 0) },
      counters: this.counters,
      cap: { maxQueue: config.maxQueue },
      signals: undefined,
      fallback,
      origin: config.clientTime ? String(readClock(config.clock ?? epochClock)) : '',
      started: false,
    });
  }

  /**
   * The largest count one call may ask for: the smallest capacity of the limits in force in Redis as
   * this instance last saw them (its own until a reply says otherwise).
   */
  get capacity(): number {
    return this.bucket.capacity;
  }

  /**
   * Callers of this instance waiting right now: sent to Redis, sleeping on a reservation, or handed to
   * the `fallback` while Redis is unavailable. `maxQueue`
   * caps this count: it is this process's queue (a call in flight may turn out to be granted at once,
   * but counts until its reply says so).
   */
  get pending(): number {
    return this.bucket.pending;
  }

  /**
   * Resolves with the tokens that could be taken right now across all processes: 0 while anyone waits.
   * Resolves 0 after `close()`. Rejects with `RedisUnavailableError` when Redis is unavailable and there
   * is no fallback (then the fallback's `available` is the answer), with `RedisKeyError` when the key
   * holds another type (fallback or not), and with `InvalidClockReadingError` on an invalid client-time
   * reading (nothing is sent).
   */
  available(): Promise<number> {
    return this.bucket.available();
  }

  /**
   * Takes `count` tokens (default 1) if they are there and nobody (in any process) is queued; resolves
   * whether it did. One Redis call. Rejects with `RangeError` for a bad `count` (above the capacity in
   * force in Redis included), `BucketClosedError` after `close()`, and `InvalidClockReadingError` on an
   * invalid client-time reading (nothing is sent), and `RedisKeyError` when the key holds another type
   * (`WRONGTYPE`). When Redis is unavailable: false (`failMode: 'closed'`), true (`'open'`), or the
   * fallback's answer.
   */
  tryGetToken(count?: number): Promise<boolean> {
    return this.bucket.tryGetToken(count);
  }

  /**
   * Resolves with the ms from now until a `getToken(count)` made now would be granted, counting every
   * reservation ahead (0: at once). Rejects like `tryGetToken()` (`RedisKeyError` included), and with
   * `RedisUnavailableError` when Redis is unavailable and there is no fallback.
   */
  waitTime(count?: number): Promise<number> {
    return this.bucket.waitTime(count);
  }

  /**
   * Waits until `count` tokens (default 1) can be taken, after every caller (of every process) that
   * reached Redis before, and takes them. Resolves at the grant; one Redis call in all.
   *
   * Rejects (never throws) with `RangeError` (bad `count` or `maxWait`; a count above the capacity in
   * force in Redis), `TypeError` (bad options or signal), the signal's reason (aborted before the
   * grant; see the class for when the tokens go back), `QueueFullError` (this instance already has
   * `maxQueue` calls pending, and this one would have to wait: it is sent as a call that may not wait,
   * so nothing is reserved), `MaxWaitExceededError` (the grant would come more than `maxWait` ms from
   * now; nothing is taken), `InvalidClockReadingError` (nothing is sent),
   * `BucketClosedError`, `RedisUnavailableError` (Redis failed or did not answer within
   * `redisTimeout`, with `failMode: 'closed'` and no fallback; its `retryAfter` says how long a retry
   * should wait), or `RedisKeyError` (the key holds another type, whatever `failMode` and the fallback
   * say). Options are read once, as own properties.
   */
  getToken(count?: number, options?: GetTokenOptions): Promise<void> {
    return this.bucket.getToken(count, options);
  }

  /**
   * Changes the limits of the bucket in Redis, for every process sharing the key, with the semantics
   * of the in-process `reconfigure()`: the tokens held carry over, capped at the new capacity, and the
   * refill schedule restarts from the call (an omitted option keeps the value in force; `limits: [...]`
   * replaces them all). This instance's queued callers are re-planned in order (a count above the new
   * capacity rejects with `RangeError`, a new grant instant past a caller's `maxWait` with
   * `MaxWaitExceededError`, and the callers behind move up) when their reservations are the last in
   * Redis; callers of other processes keep their reservations, and the new limits then take over at
   * the last of them. The change is stamped with this process's wall clock (`Date.now()`), later than
   * the one it replaces, so that the latest reconfiguration wins. `maxQueue` is this instance's own cap
   * (other processes keep theirs): it applies to later calls once the limits are in Redis, and
   * `reconfigure({ maxQueue })` alone sends nothing. Resolves once Redis holds the new
   * limits; rejects (changing nothing) with `TypeError`/`RangeError` for invalid options,
   * `BucketClosedError` after `close()`, `InvalidClockReadingError`, `RedisUnavailableError`, or
   * `RedisKeyError`.
   *
   * @example
   * await bucket.reconfigure({ refillTokens: 5 }); // the provider asked every process to slow down
   */
  reconfigure(options: ReconfigureOptions): Promise<void> {
    return this.bucket.reconfigure(options);
  }

  /**
   * Grants nothing for `ms` ms from now, to any process sharing the key: the call to make when the
   * upstream answers 429 with `Retry-After`, so that the fleet backs off together. The semantics of the
   * in-process `pause()` (`PausableTokenBucketFilter`): queued callers keep their order (this
   * instance's are re-planned behind the pause in the same call; a broken `maxWait` rejects with
   * `MaxWaitExceededError`), `waitTime()` and `maxWait` count the pause, a second pause only extends
   * it, and when it ends each limit holds at most one refill. The tokens promised to other processes'
   * callers still queued stay taken (and those that ask are decided again behind the pause), so with
   * such callers queued the bucket may resume with fewer tokens than an in-process one (never more).
   * Every process's later decisions see the pause in the key, and the script publishes it: the
   * sleeping callers of another process are re-planned behind the pause within about one round trip
   * (that process listens while it has sleepers, on one more connection per client; a runner of your
   * own needs `subscribe`), or, with `pausable: true`, also ask Redis at their grant instant (see
   * `pausable`). One Redis call; while the pause is in force the key is decided on the script's
   * general path.
   *
   * Rejects (never throws) with `TypeError` when `ms` is not a number, `RangeError` when it is
   * negative, NaN or infinite, `BucketClosedError` after
   * `close()` (changing nothing), `InvalidClockReadingError` (nothing sent), and `RedisUnavailableError`
   * when Redis does not take it.
   *
   * @example
   * await bucket.pause(Number(response.headers.get('retry-after')) * 1000); // the upstream said 429
   */
  pause(ms: number): Promise<void> {
    return this.bucket.pause(ms);
  }

  /**
   * Returns a snapshot of this instance's counters since its creation, with the fields of the
   * in-process buckets' `stats()`; other processes' calls are not counted. A call that failed because
   * Redis was unavailable counts as granted when `failMode: 'open'` or the fallback granted it, as
   * denied when it was a `tryGetToken()` answered false, and otherwise not at all. Never throws.
   */
  stats(): TokenBucketStats {
    return this.bucket.stats();
  }

  /**
   * Closes this instance: rejects each of its waiters with `BucketClosedError` (giving their reserved
   * tokens back where that is safe, in the background; the ones waiting on the `fallback` have their
   * wait there aborted, so the fallback grants them nothing), stops its timer, and makes later calls
   * fail the same way. The shared bucket in Redis is untouched. Closing twice is harmless.
   */
  close(): void {
    if (this.bucket.isClosed) return;
    const rejected = this.bucket.close();
    this.caller.close();
    this.counters.events?.closed(rejected);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves once every Redis call this instance started has its reply, including the background calls
   * that give back aborted reservations (or after twice `redisTimeout` at most). Await it after
   * `close()` and before closing the client if those give-backs should land. Never rejects.
   */
  idle(): Promise<void> {
    return this.bucket.idle();
  }
}
