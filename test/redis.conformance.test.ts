import { afterAll, beforeAll, describe, it } from 'vitest';
import { RedisTokenBucketFilter } from '../src/redis/index.js';
import { tokenBucketFilterSuite, type SuiteBucket } from './conformance/tokenBucketFilterSuite.js';
import { clientKinds, connect, type TestClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';

const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.conformance.test.ts', target.skip);

/** Why a conformance test cannot apply to the Redis store. */
const NOT_LAST =
  'a Redis reservation that is not the last one keeps its tokens (giving them back could let two waiters share one slot), so the callers behind an aborted one keep their grant instants';
const skip = new Map([
  ['aborting a queued caller rejects it with the reason and lets the callers behind move up on schedule', NOT_LAST],
  ['aborting the head grants the callers behind it at once when the tokens already cover them', NOT_LAST],
  ['aborting a caller in the middle consumes no tokens', NOT_LAST],
]);

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
        { async: true, settle, skip, timeout: 60_000 },
      );
    });
  }
  it('has a server', () => undefined);
});
