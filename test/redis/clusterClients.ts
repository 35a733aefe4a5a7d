import { Cluster as IoRedisCluster } from 'ioredis';
import { Cluster as IoValkeyCluster } from 'iovalkey';
import { createCluster } from 'redis';
import type { ClientKind, TestClient } from './clients.js';
import type { Seed } from './cluster.js';

/**
 * Settings the README advises for a cluster client, with the store's own `redisTimeout` in charge of
 * every call: no offline queue (an outage's calls would be replayed later), and a quick look at the
 * slots again after a failover (ioredis and iovalkey on the first failed command, node-redis on
 * MOVED and after a reconnection attempt, here 200 ms instead of its default 5 s).
 */
const IOREDIS_CLUSTER = {
  enableOfflineQueue: false,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 1000,
  clusterRetryStrategy: () => 100,
  redisOptions: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
} as const;

/** How {@link connectCluster} connects, beyond the advised settings. */
export interface ConnectOptions {
  /** Do not open the connections to the masters before returning (they open at their first command). */
  readonly cold?: boolean;
  /**
   * ioredis and iovalkey: leave the Cluster's own `enableOfflineQueue` at its default (true), with the
   * node connections' still off. Calls then wait while the cluster client itself is not ready.
   */
  readonly clusterQueue?: boolean;
}

/**
 * Connects a cluster client of `kind` (ioredis `Cluster`, iovalkey `Cluster`, node-redis
 * `createCluster`) to the cluster of `seeds`, and waits until it has read the slots and, unless `cold`,
 * until its connection to every master is open (a PING on each: node-redis opens them in `connect()`).
 * `command` sends a raw command routed by its first key argument (for test setup; admin commands go to
 * one node through test/redis/clusterAdmin.ts instead).
 *
 * Why warm: ioredis 6.0's Cluster with `enableOfflineQueue: false` rejects a command sent to a node
 * whose connection is still opening and retries it `retryDelayOnFailover` ms later, behind the calls
 * made since, so a process's first calls to each master can reach Redis out of call order
 * (test/redis.cluster.order.test.ts measures it; iovalkey 0.4 and node-redis do not).
 */
export async function connectCluster(
  kind: ClientKind,
  seeds: readonly Seed[],
  { cold = false, clusterQueue = false }: ConnectOptions = {},
): Promise<TestClient> {
  const nodes = seeds.map(({ host, port }) => ({ host, port }));
  if (kind === 'ioredis' || kind === 'iovalkey') {
    const options = { ...IOREDIS_CLUSTER, lazyConnect: true, ...(clusterQueue ? { enableOfflineQueue: true } : {}) };
    const client = kind === 'ioredis' ? new IoRedisCluster(nodes, options) : new IoValkeyCluster(nodes, options);
    client.on('error', () => undefined);
    client.on('node error', () => undefined);
    await client.connect();
    if (!cold) await Promise.all(client.nodes('master').map((node) => node.ping()));
    return {
      client,
      command: (name, ...args) => client.call(name, ...args),
      close: () => {
        client.disconnect();
        return Promise.resolve();
      },
    };
  }
  const client = createCluster({
    rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    command: (name, ...args) => client.sendCommand(args[0], false, [name, ...args]),
    close: () => {
      client.destroy();
      return Promise.resolve();
    },
  };
}
