import type { Clock } from '../clock.js';
import type { BucketObserver } from '../types/observer.js';

/**
 * SharedTokenBucketHandle is what a worker needs to draw from a {@link SharedTokenBucketFilter}:
 * pass `bucket.handle` to the worker with `postMessage()` or `workerData` (it is structured-clonable;
 * the buffer is shared, not copied) and call `SharedTokenBucketFilter.from(handle)` there.
 */
export interface SharedTokenBucketHandle {
  /** The bucket's whole state and configuration (776 bytes, layout version 3). */
  readonly buffer: SharedArrayBuffer;
}

/** Options of {@link SharedTokenBucketFilter.from}. */
export interface SharedTokenBucketFromOptions {
  /**
   * Where this thread reads time and sets timers. Give one only if the bucket was created with one
   * (tests): every thread must read the same time base, so a bucket created with the default clock
   * refuses an injected one here and vice versa.
   */
  clock?: Clock | undefined;
  /**
   * The most callers this instance's own queue holds (a non-negative integer, or `Infinity`, the
   * default); see `TokenBucketOptions.maxQueue`. Each instance has its own, whatever the creator's is.
   */
  maxQueue?: number | undefined;
  /**
   * This instance's observer, told what the calls made through it do (see `BucketObserver`); an
   * instance has none unless given one, whatever the creator's is (functions do not cross threads).
   */
  observer?: BucketObserver | undefined;
}
