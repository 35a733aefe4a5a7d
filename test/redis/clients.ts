import { Redis } from 'ioredis';
import { Redis as Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe } from 'vitest';
import { createClient } from 'redis';
import type { RedisClientLike } from '../../src/redis/index.js';

/** A connected client of one library, and how to close it. */
export interface TestClient {
  readonly client: RedisClientLike;
  /** Sends a raw command (for test setup: SCRIPT FLUSH, a busy script, KEYS). */
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The client libraries the store supports by duck typing, each with the settings the README advises:
 * ioredis, node-redis, and iovalkey (Valkey's fork of ioredis, recognised by the same shape).
 */
export const clientKinds = ['ioredis', 'node-redis', 'iovalkey'] as const;
export type ClientKind = (typeof clientKinds)[number];

/** Connects a client of `kind` to `url`, offline queue off, and waits until it is ready. */
export async function connect(kind: ClientKind, url: string): Promise<TestClient> {
  if (kind === 'ioredis' || kind === 'iovalkey') {
    const settings = { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true };
    const client = kind === 'ioredis' ? new Redis(url, settings) : new Valkey(url, settings);
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

/** What {@link describeEachClient} gives each client's tests. */
export interface ClientContext {
  /** The connection of this describe block, opened before its tests and closed after them. */
  readonly connection: TestClient;
  /** A key prefix of this run and client, so that runs and files never share keys. */
  readonly prefix: string;
  /** A new key (within `prefix`) at each call. */
  readonly key: () => string;
}

/**
 * Runs `body` in one `describe` block per client library, each with its own connection to `url()`
 * (undefined: no server, the caller skips) and its own key prefix starting with `tag`.
 */
export function describeEachClient(
  url: () => string | undefined,
  tag: string,
  body: (context: ClientContext) => void,
): void {
  for (const kind of clientKinds) {
    describe(kind, () => {
      let opened: TestClient | undefined;
      const open = (): TestClient => {
        if (opened === undefined) throw new Error(`no ${kind} connection (is the Redis server up?)`);
        return opened;
      };
      let run = 0;
      beforeAll(async () => {
        const target = url();
        if (target !== undefined) opened = await connect(kind, target);
      });
      afterAll(async () => {
        await opened?.close();
      });
      body({
        // Looked up when a test uses it: the connection opens in beforeAll, after body() has run.
        connection: {
          get client() {
            return open().client;
          },
          command: (...args) => open().command(...args),
          close: () => open().close(),
        },
        prefix: `${tag}:${process.pid}:${Date.now()}:${kind}:`,
        key: () => `bucket-${(run += 1)}`,
      });
    });
  }
}
