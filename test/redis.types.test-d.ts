import type { Cluster, Redis } from 'ioredis';
import type { createClient, createCluster } from 'redis';
import { expectTypeOf, test } from 'vitest';
import type {
  AsyncTokenBucketFilter,
  RedisClientLike,
  RedisKeyedTokenBucketFilter,
  RedisTokenBucketFilter,
} from '../src/redis/index.js';

test('both client libraries, plain and cluster, fit the client option without a cast', () => {
  expectTypeOf<Redis>().toExtend<RedisClientLike>();
  expectTypeOf<Cluster>().toExtend<RedisClientLike>();
  expectTypeOf<ReturnType<typeof createClient>>().toExtend<RedisClientLike>();
  expectTypeOf<ReturnType<typeof createCluster>>().toExtend<RedisClientLike>();
});

test('the Redis bucket is an AsyncTokenBucketFilter whose answers are promises', () => {
  expectTypeOf<RedisTokenBucketFilter>().toExtend<AsyncTokenBucketFilter>();
  expectTypeOf<RedisTokenBucketFilter['getToken']>().returns.toEqualTypeOf<Promise<void>>();
  expectTypeOf<RedisTokenBucketFilter['tryGetToken']>().returns.toEqualTypeOf<Promise<boolean>>();
  expectTypeOf<RedisTokenBucketFilter['waitTime']>().returns.toEqualTypeOf<Promise<number>>();
  expectTypeOf<RedisTokenBucketFilter['available']>().returns.toEqualTypeOf<Promise<number>>();
  expectTypeOf<RedisTokenBucketFilter['pending']>().toEqualTypeOf<number>();
  expectTypeOf<RedisKeyedTokenBucketFilter['tryGetToken']>().returns.toEqualTypeOf<Promise<boolean>>();
});
