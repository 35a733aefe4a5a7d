import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTokenBucketFilter } from '../src/redis/index.js';
import { tokenBucketFilterSuite, type SuiteBucket } from './conformance/tokenBucketFilterSuite.js';
import { clientKinds, connect, type TestClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';

const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.conformance.test.ts', target.skip);

// No conformance test is skipped: the three about callers moving up after an abort apply here, since
// the callers behind an aborted one are this instance's own and nobody else reserved in between (a
// withdraw re-reserves them in the script that gives the aborted tokens back).
let run = 0;

describe.skipIf('skip' in target)('RedisTokenBucketFilter against a real Redis', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  for (const kind of clientKinds) {
    describe(kind, () => {
      let connection: TestClient;
      const created = new Set<RedisTokenBucketFilter>();
      const prefix = `tbf-test:${process.pid}:${Date.now()}:${kind}:`;
      beforeAll(async () => {
        if (!('skip' in target)) connection = await connect(kind, target.url);
      });
      afterAll(async () => {
        await Promise.all([...created].map((bucket) => bucket.idle()));
        await connection.close();
      });

      const settle = async (): Promise<void> => {
        await Promise.all([...created].map((bucket) => bucket.idle()));
      };

      tokenBucketFilterSuite(
        `RedisTokenBucketFilter (${kind}, client time)`,
        (options) => {
          run += 1;
          const bucket = new RedisTokenBucketFilter({
            ...options,
            client: connection.client,
            key: String(run),
            prefix,
            timeSource: 'client',
            redisTimeout: 5000,
          });
          created.add(bucket);
          const view: SuiteBucket = {
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
            [Symbol.dispose]: () => bucket[Symbol.dispose](),
          };
          return view;
        },
        { async: true, settle, timeout: 60_000 },
      );
    });
  }
  it('runs against a real server that answers both clients', async () => {
    if ('skip' in target) throw new Error(target.skip); // not reached: the block is skipped then
    for (const kind of clientKinds) {
      const connection = await connect(kind, target.url);
      try {
        expect(await connection.command('PING')).toBe('PONG');
      } finally {
        await connection.close();
      }
    }
  });
});
