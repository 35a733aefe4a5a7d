/**
 * `token-bucket-filter/redis`: token buckets kept in Redis, shared by every process that uses the same
 * key. The core error classes the Redis buckets reject with are re-exported; they are the very classes
 * of the package root, so `instanceof` works whichever entry they were imported from.
 */
export type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
export { BucketClosedError, InvalidClockReadingError, MaxWaitExceededError, QueueFullError } from '../errors.js';
export { scriptRunner } from './clients.js';
export type { IoRedisLike, NodeRedisLike, RedisClientLike, RedisScriptRunner } from './clients.js';
export { RedisKeyError, RedisReplicationError, RedisTimeoutError, RedisUnavailableError } from './errors.js';
export type { RedisReplicaOptions } from './replicated.js';
export type {
  RedisBucketName,
  RedisBucketOptions,
  RedisFailMode,
  RedisKeyedTokenBucketOptions,
  RedisStoreOptions,
  RedisTimeSource,
  RedisTokenBucketOptions,
} from './options.js';
export { RedisKeyedTokenBucketFilter } from './RedisKeyedTokenBucketFilter.js';
export { RedisTokenBucketFilter } from './RedisTokenBucketFilter.js';
export { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';
export type { BucketObserver, RefusalReason } from '../types/observer.js';
