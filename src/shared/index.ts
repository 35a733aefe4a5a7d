/**
 * `token-bucket-filter/shared`: one token bucket shared by every thread of a process, through a
 * `SharedArrayBuffer`. The error classes and option types are re-exported so that worker code can
 * import everything it needs from here; they are the same classes as the package root's.
 */
export {
  SharedTokenBucketFilter,
  type SharedTokenBucketFromOptions,
  type SharedTokenBucketHandle,
} from './SharedTokenBucketFilter.js';
export { BucketClosedError, InvalidClockReadingError, MaxWaitExceededError, QueueFullError } from '../errors.js';
export type { Clock } from '../clock.js';
export type { ReconfigurableTokenBucketFilter, TokenBucketFilter } from '../TokenBucketFilter.js';
export type { BucketObserver, RefusalReason } from '../types/observer.js';
export type {
  GetTokenOptions,
  MultiLimitOptions,
  ReconfigureOptions,
  RefillLimit,
  TokenBucketOptions,
} from '../types/options.js';
export type { TokenBucketStats } from '../types/stats.js';
