import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisClientLike } from '../../src/redis/index.js';

/** A connected client of one library, and how to close it. */
export interface TestClient {
  readonly client: RedisClientLike;
  /** Sends a raw command (for test setup: SCRIPT FLUSH, a busy script, KEYS). */
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** The two client libraries the store supports by duck typing, each with the settings the README advises. */
export const clientKinds = ['ioredis', 'node-redis'] as const;
export type ClientKind = (typeof clientKinds)[number];

/** Connects a client of `kind` to `url`, offline queue off, and waits until it is ready. */
export async function connect(kind: ClientKind, url: string): Promise<TestClient> {
  if (kind === 'ioredis') {
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    client.on('error', () => undefined);
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
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    command: (...args) => client.sendCommand(args),
    close: () => {
      client.destroy();
      return Promise.resolve();
    },
  };
}
