import { formatValue } from '../options/format.js';
import { noticesOf } from './PauseNotices.js';

/**
 * RedisScriptRunner is all the Redis store needs of a client: run a Lua script by its SHA1, or by its
 * text. Pass one to use a client the store does not recognise. Both functions take the keys and the
 * arguments separately (so cluster clients can route by key), resolve with the script's reply (an
 * array of integers and numeric strings, or one string of numbers, as the client returns it), and
 * reject with the client's error. `evalsha` must reject with an error whose message contains `NOSCRIPT` when Redis does not
 * know the script; the store then sends it with `eval`. `onReconnect`, optional, lets the store hear of
 * reconnections, after which it checks that Redis still holds the keys its sleeping callers reserved
 * in (a server restarted without persistence comes back empty; see the README, "Running it in production").
 *
 * @example
 * const runner: RedisScriptRunner = {
 *   evalsha: (sha, keys, args) => client.evalsha(sha, keys.length, ...keys, ...args),
 *   eval: (script, keys, args) => client.eval(script, keys.length, ...keys, ...args),
 * };
 */
export interface RedisScriptRunner {
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /**
   * Calls `listener` each time the connection (or a node's, for a cluster) is ready again after a
   * reconnect, until the function it returns is called. Optional: without it, the store learns that a
   * key was lost from the next reply on that key.
   */
  onReconnect?(listener: () => void): () => void;
  /**
   * Subscribes to the messages published on `channel` (plain pub/sub, `SUBSCRIBE`: the bucket script
   * `PUBLISH`es a pause on the channel `` `${redisKey}:pause` ``, which a Redis Cluster delivers from
   * any node) until the function it returns is called: `message` gets each message's text, and
   * `live(true)` must be called once Redis has confirmed the subscription (and again once it is
   * confirmed after a reconnect), `live(false)` when the connection is lost (messages may be missed
   * until the next `live(true)`). Optional: the buckets use it while they have callers sleeping, so
   * that a `pause()` of another process re-plans them at once; without it, a sleeper learns of a pause
   * only by asking Redis at its grant instant (`pausable`). Use a connection of its own (a subscribed
   * connection runs no scripts), and close it once nothing is subscribed, so that it never keeps the
   * process alive. Must not throw.
   */
  subscribe?(channel: string, message: (text: string) => void, live: (confirmed: boolean) => void): () => void;
}

/** The event emitter the clients are: `on` and `off` (or `removeListener`). */
interface Emitter {
  on(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
  removeListener?(event: string, listener: () => void): unknown;
}

/**
 * Subscribes `listener` to `events` of `client` (an ioredis or node-redis client or cluster: `ready`
 * after every connect, `node-ready` for a node of a node-redis cluster), or returns undefined when the
 * client is no event emitter.
 */
function reconnects(client: unknown, events: readonly string[]): RedisScriptRunner['onReconnect'] {
  if (!hasFunctions(client, ['on']) || !(hasFunctions(client, ['off']) || hasFunctions(client, ['removeListener']))) {
    return undefined;
  }
  const emitter = client as Emitter;
  return (listener) => {
    for (const event of events) emitter.on(event, listener);
    return () => {
      for (const event of events) {
        if (emitter.off !== undefined) emitter.off(event, listener);
        else emitter.removeListener?.(event, listener);
      }
    };
  };
}

/**
 * The part of a node-redis (`redis`, `@redis/client`) client or cluster the store uses. Declared here,
 * not imported, so that the types of this package never require node-redis to be installed.
 */
export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * The part of an ioredis (or iovalkey) client or cluster the store uses. Declared here, not imported,
 * so that the types of this package never require ioredis to be installed.
 */
export interface IoRedisLike {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  sendCommand(...args: never[]): unknown;
}

/**
 * RedisClientLike is what the store's `client` option accepts: an ioredis or iovalkey client or
 * cluster, a node-redis client or cluster, or a {@link RedisScriptRunner} of your own.
 */
export type RedisClientLike = IoRedisLike | NodeRedisLike | RedisScriptRunner;

function hasFunctions(value: unknown, names: readonly string[]): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/**
 * Returns a {@link RedisScriptRunner} for `client`, chosen by its shape:
 * - node-redis (has `evalSha`): `evalSha(sha, { keys, arguments })`;
 * - ioredis or iovalkey (has `evalsha` and `sendCommand`): `evalsha(sha, numKeys, ...keys, ...args)`;
 * - anything else with `evalsha` and `eval` is taken as a {@link RedisScriptRunner} already.
 *
 * The first two also hear of reconnections (`onReconnect`) through the client's `ready` events (and
 * node-redis cluster's `node-ready`), and subscribe to pause notices (`subscribe`) on one duplicate
 * of the client (`client.duplicate()`, shared by every bucket of that client: see `PauseNotices`).
 *
 * Throws `TypeError` naming what it received when `client` fits none of these.
 */
export function scriptRunner(client: RedisClientLike): RedisScriptRunner {
  if (hasFunctions(client, ['evalSha', 'eval'])) {
    const nodeRedis = client as NodeRedisLike;
    const runner: RedisScriptRunner = {
      evalsha: (sha, keys, args) => nodeRedis.evalSha(sha, { keys: [...keys], arguments: [...args] }),
      eval: (script, keys, args) => nodeRedis.eval(script, { keys: [...keys], arguments: [...args] }),
    };
    const onReconnect = reconnects(client, ['ready', 'node-ready']);
    if (onReconnect !== undefined) runner.onReconnect = onReconnect;
    const subscribe = noticesOf(client, 'node-redis');
    if (subscribe !== undefined) runner.subscribe = subscribe;
    return runner;
  }
  if (hasFunctions(client, ['evalsha', 'eval', 'sendCommand'])) {
    const ioredis = client as IoRedisLike;
    const runner: RedisScriptRunner = {
      evalsha: (sha, keys, args) => ioredis.evalsha(sha, keys.length, ...keys, ...args),
      eval: (script, keys, args) => ioredis.eval(script, keys.length, ...keys, ...args),
    };
    const onReconnect = reconnects(client, ['ready']);
    if (onReconnect !== undefined) runner.onReconnect = onReconnect;
    const subscribe = noticesOf(client, 'ioredis');
    if (subscribe !== undefined) runner.subscribe = subscribe;
    return runner;
  }
  if (hasFunctions(client, ['evalsha', 'eval'])) return client as RedisScriptRunner;
  throw new TypeError(
    `client must be an ioredis or node-redis client, or an object with evalsha(sha, keys, args) and eval(script, keys, args), received ${formatValue(client)}`,
  );
}
