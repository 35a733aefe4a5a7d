export type { Clock } from './clock.js';
export { MAX_TIMER_DELAY } from './clock.js';
export {
  BucketClosedError,
  BucketNotStartedError,
  InvalidClockReadingError,
  MAX_CLOCK_READING,
  MaxWaitExceededError,
  QueueFullError,
} from './errors.js';
export { rateLimitHeaders, rateLimitPolicy } from './http/rateLimitHeaders.js';
export type {
  KeyedRateLimitHeaderOptions,
  RateLimitedBucket,
  RateLimitedKeyedBucket,
  RateLimitHeaderFields,
  RateLimitHeaderOptions,
  RateLimitPolicy,
  RateLimitPolicyLimit,
} from './http/rateLimitHeaders.js';
export { KeyedTokenBucketFilter } from './keyed/KeyedTokenBucketFilter.js';
export type { KeyedOptions, KeyedTokenBucketOptions, KeyedTokenBucketStats } from './keyed/keyedTypes.js';
export { LazyTokenBucketFilter } from './LazyTokenBucketFilter.js';
export { TimerTokenBucketFilter } from './TimerTokenBucketFilter.js';
export type {
  PausableTokenBucketFilter,
  ReconfigurableTokenBucketFilter,
  TokenBucketFilter,
} from './TokenBucketFilter.js';
export { TokenBucketFilterFactory } from './TokenBucketFilterFactory.js';
export type { BucketObserver, RefusalReason } from './types/observer.js';
export type {
  GetTokenOptions,
  MultiLimitFilterOptions,
  MultiLimitOptions,
  ReconfigureOptions,
  RefillLimit,
  TokenBucketFilterKind,
  TokenBucketFilterOptions,
  TokenBucketOptions,
} from './types/options.js';
export type { TokenBucketStats } from './types/stats.js';
export { wrap } from './wrap.js';
export type { KeyedTokenSource, KeyedWrapOptions, TokenSource, WrapOptions } from './wrap.js';
