import { formatValue } from '../options/format.js';
import type { IoRedisLike, RedisScriptRunner } from './clients.js';
import { RedisReplicationError } from './errors.js';

/**
 * The `replicas` option of the Redis stores: after each script call, `WAIT count timeout` on the same
 * connection (the key's master, on a cluster), and the call succeeds only once `count` replicas
 * acknowledged its write.
 */
export interface RedisReplicaOptions {
  /** How many replicas must acknowledge each write: a positive integer. */
  count: number;
  /** How long (ms, a positive integer) `WAIT` waits for them; keep it below `redisTimeout`. */
  timeout: number;
}

/** A pipeline's results as ioredis gives them: one `[error, reply]` per command. */
type PipelineResults = Array<[Error | null, unknown]> | null;

/** The part of an ioredis (or iovalkey) client or cluster that `replicas` uses. */
interface IoRedisPipelines {
  pipeline(commands: Array<Array<string | number>>): { exec(): Promise<PipelineResults> };
}

/** A node-redis pipeline (`multi()` sent with `execAsPipeline()`): a client's, or a cluster's routed by a key. */
interface NodeRedisPipeline {
  addCommand(...args: unknown[]): NodeRedisPipeline;
  execAsPipeline(): Promise<unknown[]>;
}

/** The part of a node-redis client or cluster that `replicas` uses. */
interface NodeRedisPipelines {
  multi(): NodeRedisPipeline;
}

/** A node-redis pipeline's replies, or its first error reply thrown (NOSCRIPT included, as evalScript expects). */
async function nodeRedisReplies(pipeline: NodeRedisPipeline): Promise<unknown[]> {
  let replies: unknown[];
  try {
    replies = await pipeline.execAsPipeline();
  } catch (error) {
    // MultiErrorReply: the replies, and which of them are errors.
    const failed = error as { replies?: unknown[]; errorIndexes?: number[] };
    const index = failed.errorIndexes?.[0];
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the client's own error reply, passed on as it is
    if (index !== undefined && failed.replies?.[index] !== undefined) throw failed.replies[index];
    throw error;
  }
  const failure = replies.find((reply) => reply instanceof Error);
  if (failure !== undefined) throw failure;
  return replies;
}

function isFunction(value: unknown, name: string): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}

/** Resolves `reply` once `waited` (WAIT's reply) says `count` replicas acknowledged; rejects otherwise. */
function acknowledged(reply: unknown, waited: unknown, options: RedisReplicaOptions): unknown {
  const count = Number(waited); // an integer, or a bigint with some client settings
  if (!(count >= options.count)) throw new RedisReplicationError(count, options.count, options.timeout);
  return reply;
}

/**
 * Returns a {@link RedisScriptRunner} for `client` (an ioredis or iovalkey client or cluster, or a
 * node-redis client or cluster) whose every script call is followed by `WAIT count timeout` on the
 * same connection, and resolves with the script's reply only when `WAIT` replies at least `count`;
 * otherwise it rejects with the script's own error (`NOSCRIPT` included, so the store resends it) or
 * with {@link RedisReplicationError}.
 *
 * - ioredis, iovalkey (plain or `Cluster`): one pipeline of `EVALSHA`/`EVAL` and `WAIT`, which a
 *   `Cluster` sends to the node of the script's key;
 * - node-redis client or cluster: one pipeline (`multi()…execAsPipeline()`, no MULTI/EXEC) of the
 *   script and `WAIT`, which a cluster sends to the master of the script's key. (`WAIT` on its own
 *   would go to every master: node-redis follows its command policy, `all_shards`.)
 *
 * Throws `TypeError` for any other client (a `RedisScriptRunner` of your own must send `WAIT` itself).
 */
export function replicatedRunner(
  client: unknown,
  runner: RedisScriptRunner,
  options: RedisReplicaOptions,
): RedisScriptRunner {
  const wait = ['WAIT', String(options.count), String(options.timeout)];
  const withWait = (replicated: Pick<RedisScriptRunner, 'evalsha' | 'eval'>): RedisScriptRunner => {
    const result: RedisScriptRunner = { ...replicated };
    if (runner.onReconnect !== undefined) {
      result.onReconnect = (listener) => runner.onReconnect?.(listener) ?? (() => undefined);
    }
    if (runner.subscribe !== undefined) {
      result.subscribe = (channel, message, live) => runner.subscribe?.(channel, message, live) ?? (() => undefined);
    }
    return result;
  };
  if (isFunction(client, 'pipeline') && isFunction(client, 'evalsha')) {
    const io = client as IoRedisLike & IoRedisPipelines;
    const ioWait = ['wait', String(options.count), String(options.timeout)]; // ioredis names commands in lower case
    const send = async (command: string, head: string, keys: readonly string[], args: readonly string[]) => {
      const results = await io.pipeline([[command, head, keys.length, ...keys, ...args], ioWait]).exec();
      const [script, waited] = results ?? [];
      if (script === undefined || waited === undefined)
        throw new TypeError('the pipeline of the script and WAIT returned nothing');
      if (script[0] !== null) throw script[0];
      if (waited[0] !== null) throw waited[0];
      return acknowledged(script[1], waited[1], options);
    };
    return withWait({
      evalsha: (sha, keys, args) => send('evalsha', sha, keys, args),
      eval: (script, keys, args) => send('eval', script, keys, args),
    });
  }
  if (isFunction(client, 'evalSha') && isFunction(client, 'multi')) {
    // A cluster routes the pipeline by the first key given; WAIT alone would go to every master
    // (node-redis follows its command policy, all_shards) and reply their least.
    const cluster = isFunction(client, 'getSlotMaster');
    const send = async (command: string, head: string, keys: readonly string[], args: readonly string[]) => {
      const script = [command, head, String(keys.length), ...keys, ...args];
      const key = keys[0] ?? '';
      const multi = (client as NodeRedisPipelines).multi();
      const pipeline = cluster
        ? multi.addCommand(key, false, script).addCommand(key, false, wait)
        : multi.addCommand(script).addCommand(wait);
      const [reply, waited] = await nodeRedisReplies(pipeline);
      return acknowledged(reply, waited, options);
    };
    return withWait({
      evalsha: (sha, keys, args) => send('EVALSHA', sha, keys, args),
      eval: (script, keys, args) => send('EVAL', script, keys, args),
    });
  }
  throw new TypeError(
    `replicas needs an ioredis, iovalkey or node-redis client or cluster (a RedisScriptRunner of your own sends WAIT itself), received ${formatValue(client)}`,
  );
}

/**
 * Validates the `replicas` option: undefined, or an object with exactly `count` (a positive safe
 * integer) and `timeout` (a positive integer of ms up to `maxTimeout`). Throws `TypeError` for a wrong
 * type or an unknown property, `RangeError` for a number out of range, naming the option and the value.
 */
export function checkReplicas(value: unknown, maxTimeout: number): RedisReplicaOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`replicas must be an object { count, timeout }, received ${formatValue(value)}`);
  }
  for (const name of Object.keys(value)) {
    if (name !== 'count' && name !== 'timeout') {
      throw new TypeError(`Unknown option replicas.${name}; known: replicas.count, replicas.timeout`);
    }
  }
  const count: unknown = Object.hasOwn(value, 'count') ? (value as Record<string, unknown>).count : undefined;
  const timeout: unknown = Object.hasOwn(value, 'timeout') ? (value as Record<string, unknown>).timeout : undefined;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`replicas.count must be a positive integer, received ${formatValue(count)}`);
  }
  if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 1 || timeout > maxTimeout) {
    throw new RangeError(
      `replicas.timeout must be a positive integer of ms up to ${maxTimeout}, received ${formatValue(timeout)}`,
    );
  }
  return { count, timeout };
}
