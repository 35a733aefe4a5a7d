import type { Clock } from '../clock.js';
import type { BucketEvents } from '../core/events.js';
import { MAX_TIMER_DELAY } from '../clock.js';
import { resolveBucketOptions, type ResolvedLimit } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import type { TokenBucketFilter } from '../TokenBucketFilter.js';
import type { BucketObserver } from '../types/observer.js';
import type { MultiLimitOptions, TokenBucketOptions } from '../types/options.js';
import { scriptRunner, type RedisClientLike, type RedisScriptRunner } from './clients.js';
import { checkReplicas, replicatedRunner, type RedisReplicaOptions } from './replicated.js';

/** Where the Redis store reads the time of each decision. */
export type RedisTimeSource = 'redis' | 'client';

/** What the Redis store does when Redis fails or does not answer within `redisTimeout`. */
export type RedisFailMode = 'closed' | 'open';

/**
 * Options of the Redis stores besides the bucket options; see {@link RedisBucketOptions}.
 */
export interface RedisStoreOptions {
  /**
   * The Redis connection: an ioredis or iovalkey client or cluster, a node-redis client or cluster, or
   * a `RedisScriptRunner` of your own. Required. Configure it not to queue commands while disconnected
   * (ioredis `enableOfflineQueue: false`, node-redis `disableOfflineQueue: true`): a queue replays an
   * outage's calls later.
   */
  client: RedisClientLike;
  /** Prefix of the Redis keys; default `'tbf:'`. A bucket named `k` lives at `` `${prefix}{${k}}` ``. */
  prefix?: string | undefined;
  /**
   * `'redis'` (default): each decision reads Redis' own `TIME`, so every process shares one timeline
   * whatever its clock. `'client'`: each decision passes this process's time, read from
   * `clock.performance.now()` when a `clock` is given, else epoch milliseconds
   * (`performance.timeOrigin + performance.now()`); every process sharing a key must then read the same
   * timeline. For hosts that forbid `TIME` in scripts, and for tests driven by a fake clock. A reading
   * that is not a finite number within ±2^42 ms (negative ones are fine) is refused with
   * `InvalidClockReadingError` before anything is sent to Redis.
   */
  timeSource?: RedisTimeSource | undefined;
  /**
   * Longest wait for each Redis call, in ms (a positive number up to 2^31 − 1); default 1000. The
   * clients' own timeouts do not cover a command already written, so the store races its own timer.
   */
  redisTimeout?: number | undefined;
  /**
   * After a failed call on a key, how long (ms, ≥ 0) later calls on that key fail without trying Redis
   * (each after a macrotask, with `RedisUnavailableError.retryAfter` saying how long is left); then a
   * single call probes it. One breaker per key: other keys are not affected. `CLUSTERDOWN`/`TRYAGAIN`
   * replies are retried within `redisTimeout` before they count as a failure; an error about the key
   * itself (`RedisKeyError`) never does. Default 1000; 0 turns the circuit breakers off.
   */
  breakerCooldown?: number | undefined;
  /**
   * When Redis is unavailable: `'closed'` (default) rejects `getToken()` with `RedisUnavailableError`
   * and resolves `tryGetToken()` with false; `'open'` grants every call. Ignored when `fallback` is set.
   */
  failMode?: RedisFailMode | undefined;
  /**
   * Opt-in: `{ count, timeout }` makes every script call wait until `count` replicas acknowledged its
   * write (`WAIT count timeout` on the same connection, the key's master on a cluster; `timeout` in
   * ms, a positive integer, best kept well below `redisTimeout`), so that a grant survives a failover
   * to one of them. When fewer acknowledge in time, the call fails with `RedisUnavailableError` (its
   * `cause` a `RedisReplicationError`) and is answered as `failMode` says; the tokens it took stay
   * taken on the master. Default: none (Redis replicates asynchronously, and a failover can lose the
   * last grants; see the README, "Running it in production"). Needs an ioredis, iovalkey or
   * node-redis client or cluster (`TypeError` otherwise).
   */
  replicas?: RedisReplicaOptions | undefined;
  /**
   * Whether every sleeping `getToken()` of this instance also asks Redis, at its grant instant, whether
   * a `pause()` of any process has voided its reservation (default false). One more script call per
   * wake (shared by every caller of this instance due then), and the grant comes that round trip
   * after its instant; a voided caller is re-planned behind the pause. Without it, sleepers are
   * re-planned when a pause is published: the script `PUBLISH`es every pause and this instance listens
   * while it has sleepers (one duplicate connection per client: see `RedisScriptRunner.subscribe`),
   * with no Redis call at a wake; a sleeper still asks when its key had been paused already when it
   * reserved. Set it where notices cannot be enough: a runner of your own without `subscribe`, a
   * notice missed while the subscriber was disconnected, a sleeper due within the round trip between
   * a pause and its notice. Calls granted at once and `tryGetToken()` cost one call either way.
   */
  pausable?: boolean | undefined;
}

/**
 * Options of the Redis stores: the Redis options plus the bucket options, one limit (`capacity`,
 * `refillTokens`, `refillInterval` in ms, `initialTokens`) or several (`limits: [...]`), and `clock`,
 * which accept exactly what every bucket accepts, with the same messages. Every option is read once, as
 * an own property.
 *
 * The configuration (the limits) is stored in the key with the state, so one key never enforces two
 * configurations: a process created with other limits than the stored ones is decided on the stored
 * ones (its `capacity` follows them from its first reply) until a `reconfigure()` replaces them or the
 * key expires (then the first process to use it stores the latest reconfiguration it has seen, else its
 * own options).
 */
export type RedisBucketOptions = RedisStoreOptions & (TokenBucketOptions | MultiLimitOptions);

/** What `new RedisTokenBucketFilter()` takes besides {@link RedisBucketOptions}. */
export interface RedisBucketName {
  /** The bucket's name, a non-empty string shared by every process using this bucket. Required. */
  key: string;
  /**
   * A local bucket that answers while Redis is unavailable (typically the limit divided by the number
   * of processes), instead of `failMode`. It must be able to serve every `count` you ask for.
   */
  fallback?: TokenBucketFilter | undefined;
}

/**
 * Options of `new RedisTokenBucketFilter()`: the Redis options plus the bucket's name and a fallback.
 *
 * `initialTokens` (default `capacity`) is what the bucket holds when this instance's first call finds
 * no key in Redis (the bucket is new). A key found missing later has expired, which happens only once
 * the bucket would have been full again, so it is a full bucket.
 */
export type RedisTokenBucketOptions = RedisBucketOptions & RedisBucketName;

/**
 * Options of `new RedisKeyedTokenBucketFilter()`: the Redis options, one bucket per key. A missing key
 * is always a full bucket (a new user, or one whose key expired once full), so `initialTokens`, if
 * given, must equal `capacity`. Its `observer` is told the key of each event (see `BucketObserver`).
 */
export type RedisKeyedTokenBucketOptions = RedisStoreOptions &
  (Omit<TokenBucketOptions, 'observer'> | Omit<MultiLimitOptions, 'observer'>) & {
    /** Receives what this instance's calls on every key do, with the key; see `BucketObserver`. */
    observer?: BucketObserver<string> | undefined;
  };

/** The validated configuration shared by the buckets of one store. */
export interface RedisConfig {
  readonly runner: RedisScriptRunner;
  readonly prefix: string;
  /** Whether decisions use this process's time (`timeSource: 'client'`) rather than Redis `TIME`. */
  readonly clientTime: boolean;
  /** The clock for local timers (and, in client mode, time); undefined: `globalThis` at each use. */
  readonly clock: Clock | undefined;
  readonly redisTimeout: number;
  readonly breakerCooldown: number;
  readonly failMode: RedisFailMode;
  /** Whether sleepers ask Redis before their grant whether a pause voided them (`pausable`). */
  readonly pausable: boolean;
  /** The limits given, each with its `initialTokens`. */
  readonly limits: readonly ResolvedLimit[];
  /** The most callers this instance queues (per key, for the keyed store); Infinity: no cap. */
  readonly maxQueue: number;
  /** This instance's observer, if it has one. */
  readonly events: BucketEvents | undefined;
}

const CORE_OPTIONS = [
  'capacity',
  'refillTokens',
  'refillInterval',
  'initialTokens',
  'clock',
  'limits',
  'maxQueue',
  'observer',
] as const;
const REDIS_OPTIONS = [
  'client',
  'prefix',
  'timeSource',
  'redisTimeout',
  'breakerCooldown',
  'failMode',
  'replicas',
  'pausable',
] as const;

/**
 * Validates Redis store options and fills in defaults. Every option is read once, as an own property
 * only (a polluted `Object.prototype` changes nothing); the bucket options are those of every bucket,
 * validated by the same code with the same messages. `extra` names the options the caller handles
 * itself (`key`, `fallback`). Throws `TypeError` for a wrong type, an unknown option or an unusable
 * client, `RangeError` for a number out of range; every message names the option and the value.
 */
export function resolveRedisOptions(
  options: RedisBucketOptions | RedisKeyedTokenBucketOptions,
  extra: readonly string[],
): RedisConfig {
  // Read as unknown: the options come from JavaScript callers too, whatever the types say.
  const input: unknown = options;
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`options must be an object, received ${formatValue(input)}`);
  }
  const known = new Set<string>([...CORE_OPTIONS, ...REDIS_OPTIONS, ...extra]);
  for (const name of Object.keys(input)) {
    if (!known.has(name)) {
      throw new TypeError(`Unknown option ${formatValue(name)}; known options: ${[...known].join(', ')}`);
    }
  }
  const own = (name: string): unknown => ownOption(input, name);
  const core = resolveBucketOptions(
    Object.fromEntries(CORE_OPTIONS.filter((name) => Object.hasOwn(input, name)).map((name) => [name, own(name)])),
  );
  const client = own('client');
  if (client === undefined) throw new TypeError('client is required: an ioredis or node-redis client');
  const plain = scriptRunner(client as RedisClientLike);
  const prefix = own('prefix') ?? 'tbf:';
  if (typeof prefix !== 'string') throw new TypeError(`prefix must be a string, received ${formatValue(prefix)}`);
  const timeSource = own('timeSource') ?? 'redis';
  if (timeSource !== 'redis' && timeSource !== 'client') {
    throw new TypeError(`timeSource must be 'redis' or 'client', received ${formatValue(timeSource)}`);
  }
  const redisTimeout = own('redisTimeout') ?? 1000;
  if (typeof redisTimeout !== 'number' || !(redisTimeout > 0) || redisTimeout > MAX_TIMER_DELAY) {
    throw new RangeError(
      `redisTimeout must be a positive number of ms up to ${MAX_TIMER_DELAY}, received ${formatValue(redisTimeout)}`,
    );
  }
  const breakerCooldown = own('breakerCooldown') ?? 1000;
  if (typeof breakerCooldown !== 'number' || !(breakerCooldown >= 0) || !Number.isFinite(breakerCooldown)) {
    throw new RangeError(
      `breakerCooldown must be a non-negative finite number of ms, received ${formatValue(breakerCooldown)}`,
    );
  }
  const failMode = own('failMode') ?? 'closed';
  if (failMode !== 'closed' && failMode !== 'open') {
    throw new TypeError(`failMode must be 'closed' or 'open', received ${formatValue(failMode)}`);
  }
  const replicas = checkReplicas(own('replicas'), MAX_TIMER_DELAY);
  const runner = replicas === undefined ? plain : replicatedRunner(client, plain, replicas);
  const pausable = own('pausable') ?? false;
  if (typeof pausable !== 'boolean')
    throw new TypeError(`pausable must be a boolean, received ${formatValue(pausable)}`);
  return {
    runner,
    prefix,
    clientTime: timeSource === 'client',
    clock: core.clock,
    redisTimeout,
    breakerCooldown,
    failMode,
    pausable,
    limits: core.limits,
    maxQueue: core.maxQueue,
    events: core.events,
  };
}

/** Validates a bucket name: a non-empty string (`TypeError` otherwise, naming the value). */
export function checkKey(key: unknown): TypeError | undefined {
  if (typeof key === 'string' && key.length > 0) return undefined;
  return new TypeError(`key must be a non-empty string, received ${formatValue(key)}`);
}
