export type { Clock } from './clock.js';
export { MAX_TIMER_DELAY } from './clock.js';
export { BucketClosedError, BucketNotStartedError, MaxWaitExceededError } from './errors.js';
export { LazyTokenBucketFilter } from './LazyTokenBucketFilter.js';
export { TimerTokenBucketFilter } from './TimerTokenBucketFilter.js';
export type {
  GetTokenOptions,
  TokenBucketFilter,
  TokenBucketFilterKind,
  TokenBucketFilterOptions,
  TokenBucketOptions,
} from './TokenBucketFilter.js';
export { TokenBucketFilterFactory } from './TokenBucketFilterFactory.js';
