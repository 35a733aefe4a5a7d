export type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
export { scriptRunner } from './clients.js';
export type { IoRedisLike, NodeRedisLike, RedisClientLike, RedisScriptRunner } from './clients.js';
export { RedisTimeoutError, RedisUnavailableError } from './errors.js';
export type {
  RedisBucketOptions,
  RedisFailMode,
  RedisKeyedTokenBucketOptions,
  RedisTimeSource,
  RedisTokenBucketOptions,
} from './options.js';
export { RedisKeyedTokenBucketFilter } from './RedisKeyedTokenBucketFilter.js';
export { RedisTokenBucketFilter } from './RedisTokenBucketFilter.js';
export { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';
