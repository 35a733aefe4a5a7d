import { afterAll, beforeAll, describe, it } from 'vitest';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
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
  describe('keyed (ioredis)', () => {
    let connection: TestClient;
    const created = new Set<RedisKeyedTokenBucketFilter>();
    const prefix = `tbf-test:${process.pid}:${Date.now()}:keyed:`;
    beforeAll(async () => {
      if (!('skip' in target)) connection = await connect('ioredis', target.url);
    });
    afterAll(async () => {
      await Promise.all([...created].map((keyed) => keyed.idle()));
      await connection.close();
    });
    // A keyed bucket's schedule starts at its first use, not at the store's creation: these tests make
    // their first call after the clock has moved, and count steps from the creation.
    const FIRST_USE = "a keyed bucket's refill schedule starts at its first use, not at the store's creation";
    const keyedSkip = new Map(skip);
    keyedSkip.set('never creates tokens when the clock steps backwards', FIRST_USE);
    keyedSkip.set('is exact over 10^5 intervals of 3 tokens per 7 ms, with irregular reads and the cap', FIRST_USE);

    tokenBucketFilterSuite(
      'RedisKeyedTokenBucketFilter, one key (ioredis, client time)',
      (options) => {
        run += 1;
        const keyed = new RedisKeyedTokenBucketFilter({
          ...options,
          client: connection.client,
          prefix,
          timeSource: 'client',
          redisTimeout: 5000,
        });
        created.add(keyed);
        const key = `tenant-${run}`;
        const view: SuiteBucket = {
          capacity: keyed.capacity,
          get available() {
            return keyed.available(key);
          },
          get pending() {
            return keyed.pending;
          },
          getToken: (count, getOptions) => keyed.getToken(key, count, getOptions),
          tryGetToken: (count) => keyed.tryGetToken(key, count),
          waitTime: (count) => keyed.waitTime(key, count),
          close: () => {
            keyed.close();
          },
          [Symbol.dispose]: () => {
            keyed[Symbol.dispose]();
          },
        };
        return view;
      },
      {
        async: true,
        settle: async () => {
          await Promise.all([...created].map((keyed) => keyed.idle()));
        },
        skip: keyedSkip,
        timeout: 60_000,
      },
    );
  });

  it('has a server', () => undefined);
});
