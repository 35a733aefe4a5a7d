import { formatValue } from '../options/format.js';
import type { RefusalReason } from '../types/observer.js';

/** The methods an observer may have, in the order messages list them. */
const METHODS = ['granted', 'refused', 'queued', 'aborted', 'closed'] as const;

type Method = (...args: never[]) => void;

/**
 * Returns the method `name` of `observer` (own or inherited, so that a class instance works), or
 * undefined: never one that only `Object.prototype` has, so a polluted prototype adds no method.
 */
function methodOf(observer: object, name: string): unknown {
  for (let holder: object | null = observer; holder !== null && holder !== Object.prototype;) {
    if (Object.hasOwn(holder, name)) return (observer as Record<string, unknown>)[name];
    holder = Object.getPrototypeOf(holder) as object | null;
  }
  return undefined;
}

/** Rethrows `error` in a microtask, as a runtime reports an `EventTarget` listener's: the bucket carries on. */
function report(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** An observer's method, made safe: it never throws (see {@link BucketEvents}). */
type Safe<A extends unknown[]> = (...args: A) => void;

/** Does nothing: an observer's missing method. */
const IGNORE = (): void => undefined;

/** Returns `method` wrapped so that a throw is {@link report}ed instead, or {@link IGNORE} when it is undefined. */
function safe(method: Method | undefined): Safe<never[]> {
  if (method === undefined) return IGNORE;
  // Fixed parameters, not a rest array: a call allocates nothing.
  return (a?: never, b?: never, c?: never, d?: never) => {
    try {
      method(a as never, b as never, c as never, d as never);
    } catch (error) {
      report(error);
    }
  };
}

/**
 * BucketEvents is how a bucket tells its `observer` what happens (see `BucketObserver`): the
 * observer's methods, read once when the bucket is created, bound to it and wrapped so that one that
 * throws cannot break the bucket (its error is {@link report}ed); a missing one does nothing. A bucket
 * without an observer has no BucketEvents: each event then costs one field check, and none allocates.
 * Keyed buckets pass the key as the last argument; others pass undefined there.
 */
export interface BucketEvents {
  /** `count` tokens were granted to a call `waitedMs` ms after it was made (0: at once). */
  readonly granted: Safe<[count: number, waitedMs: number, key: unknown]>;
  /** A call for `count` tokens was refused, counted in the `stats()` counter named `reason`. */
  readonly refused: Safe<[count: number, reason: RefusalReason, key: unknown]>;
  /** A call for `count` tokens started waiting; `queueLength` callers of the instance wait, it included. */
  readonly queued: Safe<[count: number, queueLength: number, key: unknown]>;
  /** A call for `count` tokens left the queue `waitedMs` ms after it was made, its signal aborted with `reason`. */
  readonly aborted: Safe<[count: number, waitedMs: number, reason: unknown, key: unknown]>;
  /** The bucket was closed, rejecting `pendingRejected` waiting callers. */
  readonly closed: Safe<[pendingRejected: number]>;
}

/**
 * Validates the `observer` option and returns its events, or undefined when it is undefined. Throws a
 * `TypeError` naming the value when it is not an object, has none of the methods, or has one that is
 * not a function.
 */
export function eventsOf(observer: unknown): BucketEvents | undefined {
  if (observer === undefined) return undefined;
  const known = METHODS.join(', ');
  if (typeof observer !== 'object' || observer === null) {
    throw new TypeError(
      `observer must be an object with any of the methods ${known}, received ${formatValue(observer)}`,
    );
  }
  // Every method is an own property of the result (a missing one does nothing), so no event is ever
  // looked up on a polluted Object.prototype.
  const events: Record<string, Safe<never[]>> = {};
  let found = false;
  for (const name of METHODS) {
    const method = methodOf(observer, name);
    if (method !== undefined && typeof method !== 'function') {
      throw new TypeError(`observer.${name} must be a function, received ${formatValue(method)}`);
    }
    found ||= method !== undefined;
    events[name] = safe(method === undefined ? undefined : (method as Method).bind(observer));
  }
  if (!found) throw new TypeError(`observer has none of the methods ${known}`);
  return events as unknown as BucketEvents;
}
