import type { Clock } from '../../src/clock.js';
import { resolveOptions } from '../../src/options/bucketOptions.js';
import {
  RedisKeyedTokenBucketFilter,
  RedisTokenBucketFilter,
  scriptRunner,
  type RedisKeyedTokenBucketOptions,
  type RedisScriptRunner,
  type RedisTimeSource,
} from '../../src/redis/index.js';
import type { SuiteBucket } from '../conformance/suiteTools.js';
import { connect, type ClientKind, type TestClient } from '../redis/clients.js';
import { clusterTarget, type ClusterTarget, type Seed } from '../redis/cluster.js';
import { connectCluster } from '../redis/clusterClients.js';
import { launchFakeTimeRedis, redisTarget, type FakeTimeRedis } from '../redis/server.js';
import type { TokenBucketOptions } from '../../src/index.js';
import type { Harness, SuiteOptionsMaybeClock } from './implementations.js';

/**
 * How the list's Redis entries reach a real server: `RedisTokenBucketFilter`, or a one-key view of
 * `RedisKeyedTokenBucketFilter`, with either client library and either time source.
 *
 * With `timeSource: 'redis'` the script reads Redis' own `TIME`. The server is then a private one under
 * libfaketime (test/redis/server.ts), and Redis' clock follows the test's fake clock for real: each
 * script call is sent only once the previous one has answered, after writing the clock file with the
 * bucket clock's reading *at the call* (the fake time `now`, or `performance.now()` of a hand-made
 * clock). So every decision sees exactly the instant at which the bucket made it, as with client time.
 */

/** Servers opened by this test file, shared by its entries, stopped when the last entry closes. */
let plain: { target: Promise<Awaited<ReturnType<typeof redisTarget>>>; users: number } | undefined;
let fake: { server: Promise<FakeTimeRedis>; users: number; tail: Promise<unknown> } | undefined;
let cluster: { target: Promise<ClusterTarget>; users: number } | undefined;

/** The file's Redis Cluster (test/redis/cluster.ts), started by its first entry, stopped after its last. */
async function openCluster(): Promise<{ seeds: readonly Seed[]; close(): Promise<void> }> {
  cluster ??= { target: clusterTarget(), users: 0 };
  const opened = cluster;
  opened.users += 1;
  const target = await opened.target;
  if ('skip' in target) throw new Error(target.skip);
  return {
    seeds: target.seeds,
    async close() {
      opened.users -= 1;
      if (opened.users === 0) {
        if (cluster === opened) cluster = undefined;
        await target.stop();
      }
    },
  };
}

async function openPlain(): Promise<{ url: string; close(): Promise<void> }> {
  plain ??= { target: redisTarget(), users: 0 };
  const opened = plain;
  opened.users += 1;
  const target = await opened.target;
  if ('skip' in target) throw new Error(target.skip);
  return {
    url: target.url,
    async close() {
      opened.users -= 1;
      if (opened.users === 0) {
        if (plain === opened) plain = undefined;
        await target.stop();
      }
    },
  };
}

async function openFake(): Promise<{
  server: FakeTimeRedis;
  close(): Promise<void>;
  queue: { tail: Promise<unknown> };
}> {
  fake ??= { server: launchFakeTimeRedis(), users: 0, tail: Promise.resolve() };
  const opened = fake;
  opened.users += 1;
  const server = await opened.server;
  return {
    server,
    queue: opened,
    async close() {
      opened.users -= 1;
      if (opened.users === 0) {
        if (fake === opened) fake = undefined;
        await server.stop();
      }
    },
  };
}

/** The reading of `clock` that Redis' clock must show: the fake time, else `performance.now()`. */
function reading(clock: Clock | undefined, last: { ms: number }): number {
  const source = (clock ?? globalThis) as Clock & { now?: unknown };
  const value = typeof source.now === 'number' ? source.now : source.performance.now();
  // A broken clock's reading (NaN, a string) is refused by the bucket before it sends anything; a call
  // that is sent keeps the last valid instant.
  if (typeof value === 'number' && Number.isFinite(value)) last.ms = value;
  return last.ms;
}

/** A runner that sets the fake-time server's clock to `clock`'s reading before each call, one call at a time. */
function clockedRunner(
  inner: RedisScriptRunner,
  server: FakeTimeRedis,
  queue: { tail: Promise<unknown> },
  clock: Clock | undefined,
): RedisScriptRunner {
  const last = { ms: 0 };
  const serial = (send: () => Promise<unknown>): Promise<unknown> => {
    const at = reading(clock, last);
    const run = (): Promise<unknown> => {
      server.setTime(at);
      return send();
    };
    const result = queue.tail.then(run, run);
    queue.tail = result.catch(() => undefined);
    return result;
  };
  return {
    evalsha: (sha, keys, args) => serial(() => inner.evalsha(sha, keys, args)),
    eval: (script, keys, args) => serial(() => inner.eval(script, keys, args)),
  };
}

/** Redis-backed buckets as the suite sees them: a `SuiteBucket` plus what settles its I/O. */
interface Idle {
  idle(): Promise<void>;
}

/**
 * Opens a Redis entry: a server (plain or fake-time) or a cluster, a connection of `kind` (its cluster
 * client on a cluster), and a factory of buckets, each on a new key. `keyed`: a one-key view of the
 * keyed store instead of a bucket.
 */
export async function openRedis(
  kind: ClientKind,
  time: RedisTimeSource,
  keyed: boolean,
  topology: 'server' | 'cluster' = 'server',
): Promise<Harness> {
  if (topology === 'cluster' && time === 'redis') throw new Error('no fake-time Redis Cluster: client time only');
  const server = topology === 'cluster' ? await openCluster() : time === 'redis' ? await openFake() : await openPlain();
  let connection: TestClient;
  try {
    connection =
      'seeds' in server
        ? await connectCluster(kind, server.seeds)
        : await connect(kind, 'server' in server ? server.server.url : server.url);
  } catch (error) {
    await server.close();
    throw error;
  }
  const created = new Set<Idle>();
  const prefix = `tbf-list:${process.pid}:${Date.now()}:${kind}:${topology}:${time}:${keyed ? 'keyed' : 'bucket'}:`;
  let run = 0;
  const clientFor = (clock: Clock | undefined) =>
    'server' in server
      ? clockedRunner(scriptRunner(connection.client), server.server, server.queue, clock)
      : connection.client;
  const settle = async (): Promise<void> => {
    await Promise.all([...created].map((bucket) => bucket.idle()));
  };
  return {
    create(options: SuiteOptionsMaybeClock): SuiteBucket | Promise<SuiteBucket> {
      run += 1;
      // With Redis time, calls wait in the clocked runner's queue, one round trip each, and a call's
      // redisTimeout runs from when it was made: 2,000 callers queued at once (test/abortListeners.test.ts)
      // took more than 5 s on a loaded 2-core machine and timed out.
      const redisTimeout = time === 'redis' ? 30_000 : 5000;
      const common = { client: clientFor(options.clock), prefix, timeSource: time, redisTimeout };
      if (keyed) return keyedView(options, common, `key ${run}`, created);
      const bucket = new RedisTokenBucketFilter({ ...options, ...common, key: String(run) });
      created.add(bucket);
      if (time === 'client') return bucketView(bucket);
      // With Redis time a new bucket's schedule starts at its first call, not at its creation (the
      // constructor says so): a read at once starts it now, as the suite's tests assume, for the
      // tests that first call later (a bucket created less than full is written at its first read).
      return bucket.waitTime().then(() => bucketView(bucket));
    },
    settle,
    async close() {
      await settle();
      await connection.close();
      await server.close();
    },
  };
}

function bucketView(bucket: RedisTokenBucketFilter): SuiteBucket {
  return {
    capacity: bucket.capacity,
    get available() {
      return bucket.available();
    },
    get pending() {
      return bucket.pending;
    },
    getToken: (count, getOptions) => bucket.getToken(count, getOptions),
    tryGetToken: (count) => bucket.tryGetToken(count),
    waitTime: (count) => bucket.waitTime(count),
    close: () => bucket.close(),
    stats: () => bucket.stats(),
    reconfigure: (options) => bucket.reconfigure(options),
    pause: (ms: number) => bucket.pause(ms),
    [Symbol.dispose]: () => bucket[Symbol.dispose](),
  };
}

/**
 * A one-key view of a new `RedisKeyedTokenBucketFilter`, starting from any state the suite asks for.
 * The store holds a full bucket for a missing key, so a view asked for `initialTokens` below capacity
 * takes the difference first (at the creation instant, which then starts the key's schedule, as an
 * in-process bucket's starts at its creation). A full one starts its schedule at its first use instead
 * (the store's rule), which no conformance test tells apart: those starting full call at once. Other
 * keys are busy too (they have taken tokens) and must change nothing for the key under test. Invalid
 * options throw at once, with every bucket's messages; the view is ready when the promise resolves.
 */
function keyedView(
  options: SuiteOptionsMaybeClock,
  common: Omit<RedisKeyedTokenBucketOptions, keyof TokenBucketOptions>,
  key: string,
  created: Set<Idle>,
): Promise<SuiteBucket> {
  // The same validation, with the same messages, as every bucket's (initialTokens included).
  const resolved = resolveOptions(options);
  // The store takes no initialTokens but capacity's: the view takes the difference itself, below.
  const rest: SuiteOptionsMaybeClock = { ...options };
  delete rest.initialTokens;
  // An observer of the suite's is told the key too, as a last argument it does not read.
  const store = new RedisKeyedTokenBucketFilter({ ...rest, ...common } as RedisKeyedTokenBucketOptions);
  created.add(store);
  const view: SuiteBucket = {
    capacity: store.capacity,
    get available() {
      return store.available(key);
    },
    get pending() {
      return store.pending;
    },
    getToken: (count, getOptions) => store.getToken(key, count, getOptions),
    tryGetToken: (count) => store.tryGetToken(key, count),
    waitTime: (count) => store.waitTime(key, count),
    close: () => store.close(),
    stats: () => store.stats(),
    reconfigure: (reconfigureOptions) => store.reconfigure(reconfigureOptions),
    pause: (ms: number) => store.pause(key, ms),
    [Symbol.dispose]: () => store[Symbol.dispose](),
  };
  const shortfall = resolved.capacity - resolved.initialTokens;
  return (async () => {
    const busy = await Promise.all([
      store.tryGetToken(`another ${key}`),
      store.tryGetToken(`{braces} ${key}`, resolved.capacity),
      shortfall > 0 ? store.tryGetToken(key, shortfall) : true,
    ]);
    if (!busy.every(Boolean)) throw new Error(`could not bring ${key} to ${resolved.initialTokens} tokens`);
    return view;
  })();
}
