import type { Clock } from '../../src/clock.js';
import {
  LazyTokenBucketFilter,
  TimerTokenBucketFilter,
  type MultiLimitOptions,
  type TokenBucketFilter,
  type TokenBucketOptions,
} from '../../src/index.js';
import { SharedTokenBucketFilter } from '../../src/shared/SharedTokenBucketFilter.js';
import type { SuiteBucket, SuiteHooks } from '../conformance/suiteTools.js';
import type { ClientKind } from '../redis/clients.js';
import { keyedViewFactory } from './keyedView.js';

/** Options every conformance test passes: a clock is always injected. */
export type SuiteOptions = TokenBucketOptions & { clock: Clock };

/** The same, where a test leaves the clock out (the default clock, looked up when used). */
export type SuiteOptionsMaybeClock = TokenBucketOptions & { clock?: Clock | undefined };

/**
 * Builds a ready-to-use in-process bucket of one implementation. Entries with `features.limits` also
 * take `limits: [...]`, and those with `reconfigure`/`stats` return a `ReconfigurableTokenBucketFilter`.
 */
export type BucketFactory = (options: SuiteOptionsMaybeClock | MultiLimitOptions) => TokenBucketFilter;

/** The areas of tests that iterate this list; an entry may be skipped in one, with the reason. */
export type TestArea = 'conformance' | 'abortListeners' | 'fakeTimers' | 'soak' | 'differential' | 'model';

/** Optional features beyond `TokenBucketFilter`; one flag each, flipped when a backend gains it. */
export interface Features {
  /** `limits: [...]` (several limits in one bucket). */
  readonly limits: boolean;
  /** `reconfigure(options)`. */
  readonly reconfigure: boolean;
  /** `stats()`. */
  readonly stats: boolean;
  /** `pause(ms)` (`PausableTokenBucketFilter`, or the Redis buckets' promise-returning one). */
  readonly pause: boolean;
}

/** What an entry needs outside the process: nothing, a Redis server, or one whose clock the test sets (libfaketime). */
export type Server = 'none' | 'redis' | 'fake-time redis' | 'redis cluster';

/** An opened entry: its factory, what lets its real I/O finish, and how to close what it opened. */
export interface Harness {
  create(options: SuiteOptionsMaybeClock): SuiteBucket | Promise<SuiteBucket>;
  /** Resolves once every call of every bucket it created has settled its I/O (none: in-process). */
  settle?: () => Promise<void>;
  close(): Promise<void>;
}

interface Common {
  /** The name tests print: the class, and how it is reached. */
  readonly name: string;
  /** The conformance file that runs it (a family per file, so that families run in parallel). */
  readonly family: 'single' | 'keyed' | 'limits' | 'shared' | 'redis' | 'redis-time' | 'redis-keyed' | 'redis-cluster';
  readonly features: Features;
  readonly server: Server;
  /** Test areas that do not apply, with the reason (printed when skipped; never for a missing tool). */
  readonly skip: { readonly [area in TestArea]?: string };
  /** Conformance tests (by exact title, or `it.each` template) that cannot apply, with the reason. */
  readonly skipTests?: ReadonlyMap<string, string>;
  /** Conformance tests that fail because of a known bug (run as `it.fails`), with the bug. */
  readonly fails?: ReadonlyMap<string, string>;
  /** Timeout of each conformance test, in ms (vitest's default when undefined). */
  readonly timeout?: number;
}

/** An in-process bucket: `tryGetToken()`, `waitTime()` and `available` answer synchronously. */
export interface SyncImplementation extends Common {
  readonly surface: 'sync';
  readonly create: BucketFactory;
}

/**
 * A bucket whose state lives elsewhere (an `AsyncTokenBucketFilter`): `tryGetToken()`, `waitTime()`
 * and `available()` return promises. Opened before its tests (server, connection) and closed after.
 */
export interface AsyncImplementation extends Common {
  readonly surface: 'async';
  open(): Promise<Harness>;
}

export type Implementation = SyncImplementation | AsyncImplementation;

/**
 * The options as a bucket of twice the limits: each limit, and a copy of it (a copy on the same schedule
 * holds the same tokens at every instant, so it never binds more). Every contract must hold through the
 * several-limit code path (`MultiLimit`, one refill timer per limit) exactly as for one limit.
 */
function twice(options: SuiteOptionsMaybeClock | MultiLimitOptions): MultiLimitOptions {
  // The options of the bucket as a whole stay beside the limits (own ones only, as every bucket reads them).
  const { clock, maxQueue, observer, ...rest } = options;
  const own = <T>(name: string, value: T): T | undefined => (Object.hasOwn(options, name) ? value : undefined);
  const limits = 'limits' in rest ? rest.limits : [rest as TokenBucketOptions];
  return {
    limits: [...limits, ...limits.map((limit) => ({ ...limit }))],
    ...(own('clock', clock) === undefined ? {} : { clock }),
    ...(own('maxQueue', maxQueue) === undefined ? {} : { maxQueue }),
    ...(own('observer', observer) === undefined ? {} : { observer }),
  };
}

const ALL: Features = { limits: true, reconfigure: true, stats: true, pause: true };

const KEYED_MODEL = 'the model drives the keyed bucket itself, through one key and two keys (test/model/kinds.ts)';
const TWO_LIMITS_MODEL =
  "reconfigure() keeps the form a bucket was created in (limits: [...]); the model's programs reconfigure with one limit, and drive several limits themselves";
/**
 * reconfigure() carries tokens over limit by limit, by position: a bucket of [A] and one of [A, A]
 * answer alike until a reconfigure() to two limits, after which the second new limit starts full in
 * one and with A's tokens in the other. The README ("the tokens held carry over") does not say which.
 */
const TWO_LIMITS_RECONFIGURE = new Map([
  [
    'and with several limits and reconfigure(), waitTime() predicting the real grant (differential)',
    'doubled limits change what a later reconfigure() carries over (limit by limit, by position), so the lazy bucket is no reference here',
  ],
  [
    'holds through reconfigure(), capped at the new refillTokens',
    "reconfigure() keeps the form a bucket was created in (limits: [...]), and the suite's call gives one limit; test/pause.test.ts pauses and reconfigures two limits",
  ],
]);
const SHARED_MODEL =
  "the shared bucket counts on the clock's own readings (the base every thread shares), not on a timeline re-based to 0 at its creation as the in-process buckets do: with a fractional interval a wait then differs from theirs in the last bits of a double, which the model's exact comparison of MaxWaitExceededError values sees (the differential test compares the grants)";
const SOAK_REDIS = 'a million operations through Redis take minutes: the soak keeps to the in-process buckets';
const MODEL_REDIS = 'the model drives sync buckets with reconfigure() and stats(); Redis has neither yet';

/** With Redis time, only `getToken()` reads the local clock (to time its sleep); the others ask Redis. */
const REDIS_TIME_SKIPS = new Map([
  [
    'a reading of %s grants nothing and mints nothing; the bucket goes on on schedule once readings are valid',
    "with timeSource 'redis', tryGetToken() and waitTime() read Redis' TIME, never the local clock, so a broken local clock cannot refuse them",
  ],
]);

/**
 * Found by this suite on Redis time (and on the keyed store, whose keys always start at their first
 * use): a key expires once its bucket is full again (at once with Redis time, 1 s later with client
 * time), and the next call re-creates it with its schedule starting at that call, so the refill steps
 * lose their phase (a step due at 700 ms comes at 750). The in-process buckets keep one schedule.
 */
const PHASE_LOST =
  'an expired key restarts its refill schedule at the next call, shifting every later step (src/redis/script.ts origin)';
const PHASE_TESTS = [
  'adds refillTokens at each step, capped at capacity (table)',
  'is exact over 10^5 intervals of 3 tokens per 7 ms, with irregular reads and the cap',
];

// The two abort tests that failed here ('aborting callers at once, before any time passes, gives their
// tokens back to the callers behind'; 'aborting the shared signal rejects exactly its callers, in order,
// and the others move up') pass since the Redis buckets wait through the core's WaitingRoom
// (redis-core): a take aborted in flight is given back by the withdraw that waits for its reply.

/**
 * On a cluster, the suite's one long run: 10^5 intervals of round trips (70 s for the six cluster
 * entries, measured) prove the script's arithmetic, which does not depend on where the key lives and
 * which the entries on one server run in full.
 */
const CLUSTER_LONG_RUN = new Map([
  [
    'is exact over 10^5 intervals of 3 tokens per 7 ms, with irregular reads and the cap',
    "the script's arithmetic, the same on one server (where the entries run it): 10^5 round trips cost the cluster entries 70 s",
  ],
]);

/** Under global fake timers (test/fakeTimers.test.ts). */
const SINON_INSTALL =
  "install() with no toFake fakes process.nextTick and queueMicrotask, on which the Redis clients' socket I/O runs: a real connection stalls (pass a clock, or a toFake without them)";
const VI_NODE_REDIS =
  'vi.useFakeTimers() fakes setImmediate, from which node-redis writes its commands: they wait for fake time, and the connection is left broken for the tests after';
/**
 * Where a Redis entry's key lives: one redis-server, or a 3-master Redis Cluster with a replica each
 * (test/redis/cluster.ts), reached through the client library's cluster client.
 */
type Topology = 'server' | 'cluster';

function redis(
  client: ClientKind,
  time: 'client' | 'redis',
  keyed: boolean,
  topology: Topology = 'server',
): AsyncImplementation {
  const what = keyed ? 'RedisKeyedTokenBucketFilter, one key' : 'RedisTokenBucketFilter';
  const cluster = topology === 'cluster';
  return {
    name: `${what} (${client}${cluster ? ' cluster' : ''}, ${time} time)`,
    family: cluster ? 'redis-cluster' : keyed ? 'redis-keyed' : time === 'redis' ? 'redis-time' : 'redis',
    surface: 'async',
    features: ALL, // limits, reconfigure() and pause() (promises) and stats(): redis-core
    server: cluster ? 'redis cluster' : time === 'redis' ? 'fake-time redis' : 'redis',
    skip: {
      soak: SOAK_REDIS,
      model: MODEL_REDIS,
      ...(time === 'redis' || keyed ? { differential: `not the lazy bucket's schedule: ${PHASE_LOST}` } : {}),
    },
    skipTests: new Map([
      ...(time === 'redis' ? REDIS_TIME_SKIPS : []),
      ...(cluster ? CLUSTER_LONG_RUN : []),
      ['follows @sinonjs/fake-timers install() after import', SINON_INSTALL],
      ...(client === 'node-redis'
        ? [['follows vi.useFakeTimers() installed after import', VI_NODE_REDIS] as const]
        : []),
    ]),
    fails: new Map([...(time === 'redis' ? PHASE_TESTS.map((title) => [title, PHASE_LOST] as const) : [])]),
    timeout: 60_000,
    open: async () => {
      const { openRedis } = await import('./redisHarness.js');
      return openRedis(client, time, keyed, topology);
    },
  };
}

/**
 * Every implementation of the bucket contract, which every contract test iterates: conformance (and
 * hostile input), abort listeners, fake timers, the soak, the model check and the differential
 * properties. A new implementation added here inherits all of them.
 */
export const implementations: readonly Implementation[] = [
  {
    name: 'LazyTokenBucketFilter',
    family: 'single',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { differential: 'the reference every other entry is compared with' },
    create: (options) => new LazyTokenBucketFilter(options),
  },
  {
    name: 'TimerTokenBucketFilter',
    family: 'single',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: {},
    create: (options) => new TimerTokenBucketFilter(options).start(),
  },
  {
    name: 'KeyedTokenBucketFilter, one key (string)',
    family: 'keyed',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: KEYED_MODEL },
    create: (options) => keyedViewFactory('alice', options),
  },
  {
    name: 'KeyedTokenBucketFilter, one key (object)',
    family: 'keyed',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: KEYED_MODEL },
    create: (options) => keyedViewFactory({ id: 7 }, options),
  },
  {
    name: 'KeyedTokenBucketFilter, one key (with maxKeys)',
    family: 'keyed',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: KEYED_MODEL },
    create: (options) => keyedViewFactory(42, { ...options, maxKeys: 3 }),
  },
  {
    name: 'LazyTokenBucketFilter, two limits',
    family: 'limits',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: TWO_LIMITS_MODEL },
    skipTests: TWO_LIMITS_RECONFIGURE,
    create: (options) => new LazyTokenBucketFilter(twice(options)),
  },
  {
    name: 'TimerTokenBucketFilter, two limits',
    family: 'limits',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: TWO_LIMITS_MODEL },
    skipTests: TWO_LIMITS_RECONFIGURE,
    create: (options) => new TimerTokenBucketFilter(twice(options)).start(),
  },
  {
    name: 'SharedTokenBucketFilter',
    family: 'shared',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: SHARED_MODEL },
    create: (options) => new SharedTokenBucketFilter(options),
  },
  {
    name: 'SharedTokenBucketFilter, two limits',
    family: 'limits',
    surface: 'sync',
    features: ALL,
    server: 'none',
    skip: { model: SHARED_MODEL },
    skipTests: TWO_LIMITS_RECONFIGURE,
    create: (options) => new SharedTokenBucketFilter(twice(options)),
  },
  redis('ioredis', 'client', false),
  redis('node-redis', 'client', false),
  redis('ioredis', 'redis', false),
  redis('node-redis', 'redis', false),
  redis('ioredis', 'client', true),
  redis('node-redis', 'client', true),
  redis('ioredis', 'redis', true),
  redis('node-redis', 'redis', true),
  // iovalkey (Valkey's ioredis fork) with client time; Redis time goes through the same libfaketime
  // server whatever the client, which the ioredis and node-redis entries cover.
  redis('iovalkey', 'client', false),
  redis('iovalkey', 'client', true),
  // A Redis Cluster, client time only: Redis time there would need every node's clock to follow the
  // test's fake clock, and a cluster whose wall clock jumps declares its nodes failed.
  redis('ioredis', 'client', false, 'cluster'),
  redis('node-redis', 'client', false, 'cluster'),
  redis('iovalkey', 'client', false, 'cluster'),
  redis('ioredis', 'client', true, 'cluster'),
  redis('node-redis', 'client', true, 'cluster'),
  redis('iovalkey', 'client', true, 'cluster'),
];

/** The entries of the list that run in `area`, skipped ones included (the caller prints why). */
export function implementationsOf(family: Implementation['family']): readonly Implementation[] {
  return implementations.filter((implementation) => implementation.family === family);
}

/** The harness of an in-process entry: its factory, nothing to settle, nothing to close. */
export function syncHarness(implementation: SyncImplementation): Harness {
  return { create: implementation.create, close: () => Promise.resolve() };
}

/** Opens `implementation`: in-process ones at once, the others through their `open()`. */
export function openImplementation(implementation: Implementation): Promise<Harness> {
  return implementation.surface === 'sync' ? Promise.resolve(syncHarness(implementation)) : implementation.open();
}

/** The suite hooks of `implementation`, whose `settle` is looked up in `harness()` when called. */
export function hooksOf(implementation: Implementation, harness: () => Harness | undefined): SuiteHooks {
  return {
    async: implementation.surface === 'async',
    ...(implementation.surface === 'async' ? { settle: () => harness()?.settle?.() ?? Promise.resolve() } : {}),
    ...(implementation.skipTests === undefined ? {} : { skip: implementation.skipTests }),
    ...(implementation.fails === undefined ? {} : { fails: implementation.fails }),
    ...(implementation.timeout === undefined ? {} : { timeout: implementation.timeout }),
  };
}
