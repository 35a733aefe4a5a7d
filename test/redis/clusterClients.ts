import { Cluster as IoRedisCluster } from 'ioredis';
import { Cluster as IoValkeyCluster } from 'iovalkey';
import { createCluster } from 'redis';
import type { ClientKind, TestClient } from './clients.js';
import type { Seed } from './cluster.js';

/**
 * Settings the README advises for a cluster client, with the store's own `redisTimeout` in charge of
 * every call: no offline queue on the node connections (an outage's calls would be replayed later).
 * ioredis and iovalkey keep the `Cluster`'s own queue (for calls made while it has no slot map; the
 * order test turns it off too). node-redis looks at the slots again 200 ms after a reconnection
 * attempt instead of its default 5 s.
 */
const IOREDIS_CLUSTER = {
  redisOptions: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
} as const;

/** How {@link connectCluster} connects, beyond the advised settings. */
export interface ConnectOptions {
  /**
   * ioredis and iovalkey: turn the `Cluster`'s own offline queue off too (`enableOfflineQueue: false`).
   */
  readonly clusterQueueOff?: boolean;
}

/**
 * Connects a cluster client of `kind` (ioredis `Cluster`, iovalkey `Cluster`, node-redis
 * `createCluster`) to the cluster of `seeds` with the README's settings, and waits until it has read
 * the slots (the connections to the masters open at their first command, as in an application).
 * `command` sends a raw command routed by its first key argument (for test setup; admin commands go
 * to one node through test/redis/clusterAdmin.ts instead).
 */
export async function connectCluster(
  kind: ClientKind,
  seeds: readonly Seed[],
  { clusterQueueOff = false }: ConnectOptions = {},
): Promise<TestClient> {
  const nodes = seeds.map(({ host, port }) => ({ host, port }));
  if (kind === 'ioredis' || kind === 'iovalkey') {
    const options = {
      ...IOREDIS_CLUSTER,
      lazyConnect: true,
      ...(clusterQueueOff ? { enableOfflineQueue: false } : {}),
    };
    const client = kind === 'ioredis' ? new IoRedisCluster(nodes, options) : new IoValkeyCluster(nodes, options);
    client.on('error', () => undefined);
    client.on('node error', () => undefined);
    await client.connect();
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
