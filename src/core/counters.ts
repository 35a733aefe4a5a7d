import type { TokenBucketStats } from '../types/stats.js';
import type { BucketEvents } from './events.js';

/**
 * BucketCounters holds the running counts behind `stats()`: plain integer fields, bumped in place so
 * counting allocates nothing. One object may be shared by many buckets (the keys of a keyed bucket),
 * so that counts survive when a bucket is dropped. It also carries the bucket's {@link events}, told
 * what is counted where it is counted.
 */
export class BucketCounters {
  /** @param events the bucket's observer, if it has one */
  constructor(readonly events?: BucketEvents) {}

  /** Tokens handed out. */
  tokensGranted = 0;
  /** Calls granted (resolved `getToken()`s and successful `tryGetToken()`s). */
  granted = 0;
  /** `tryGetToken()` calls that returned false. */
  denied = 0;
  /** Calls rejected with `MaxWaitExceededError`. */
  maxWaitExceeded = 0;
  /** Calls rejected with `QueueFullError` (`maxQueue`). */
  queueFull = 0;
  /** Queued calls whose signal aborted. */
  aborted = 0;
  /** Queued calls rejected by `close()`. */
  closed = 0;
  /** Queued calls rejected by `reconfigure()` for asking more than the new capacity. */
  overCapacity = 0;
  /** Calls in a queue right now. */
  queued = 0;

  /** Returns an immutable snapshot as {@link TokenBucketStats}. */
  snapshot(): TokenBucketStats {
    return {
      tokensGranted: this.tokensGranted,
      granted: this.granted,
      denied: this.denied,
      maxWaitExceeded: this.maxWaitExceeded,
      queueFull: this.queueFull,
      aborted: this.aborted,
      closed: this.closed,
      overCapacity: this.overCapacity,
      pending: this.queued,
    };
  }
}
