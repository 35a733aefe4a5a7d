import { formatValue, ownOption } from '../options/format.js';
import { resolveBucketOptions, type ResolvedLimit } from '../options/bucketOptions.js';
import type { MultiLimitOptions, TokenBucketFilterKind, TokenBucketOptions } from '../types/options.js';
import { BucketCounters } from './counters.js';
import { limitStateAt, type LimitState } from './limits.js';
import type { RefillSchedule } from './refill.js';
import type { SignalWatch } from './SignalWatch.js';
import { Timeline } from './Timeline.js';
import type { QueueCap } from './WaitPlan.js';

/** What a bucket starts from: its limits' state, its clock and where it counts. */
export interface BucketInit {
  /** The limits, positioned at the instant of creation. */
  readonly limit: LimitState;
  /** Where the bucket reads time (shared by the keys of a keyed bucket). */
  readonly timeline: Timeline;
  /** The counters to bump (shared by the keys of a keyed bucket). */
  readonly counters: BucketCounters;
  /** `maxQueue` (shared by the keys of a keyed bucket, each of which has a queue of its own). */
  readonly cap: QueueCap;
  /** A keyed bucket's key, for the observer; undefined for a bucket of its own. */
  readonly key?: unknown;
  /**
   * The abort listeners to register waiters with, shared by the keys of a keyed bucket (one listener
   * per signal for them all); undefined for a bucket of its own, which creates one on first use.
   */
  readonly signals?: SignalWatch | undefined;
}

/** Returns the schedules of `limits`, all starting at clock reading `origin`. */
export function schedulesFrom(limits: readonly ResolvedLimit[], origin: number): RefillSchedule[] {
  return limits.map(({ capacity, refillTokens, refillInterval }) => ({
    capacity,
    refillTokens,
    refillInterval,
    origin,
  }));
}

/**
 * Validates bucket options (one limit or several) for a bucket class of `kind`, reads the clock once
 * and returns the bucket's starting state. Throws `TypeError`/`RangeError` naming the bad option.
 */
export function bucketInit(options: TokenBucketOptions | MultiLimitOptions, kind: TokenBucketFilterKind): BucketInit {
  const resolved = resolveBucketOptions(options);
  if (ownOption(options, 'kind') !== undefined && resolved.kind !== kind) {
    throw new TypeError(`kind ${formatValue(resolved.kind)} does not match this ${kind} bucket's class`);
  }
  const timeline = new Timeline(resolved.clock);
  const now = timeline.now();
  const schedules = schedulesFrom(resolved.limits, now);
  return {
    limit: limitStateAt(
      schedules,
      resolved.limits.map((limit) => limit.initialTokens),
      now,
    ),
    timeline,
    counters: new BucketCounters(resolved.events),
    cap: { maxQueue: resolved.maxQueue },
  };
}
