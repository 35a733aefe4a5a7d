import type { Clock } from './clock.js';
import type { TokenBucketFilterKind, TokenBucketFilterOptions } from './TokenBucketFilter.js';

/** Bucket options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly capacity: number;
  readonly refillTokens: number;
  readonly refillInterval: number;
  readonly initialTokens: number;
  readonly kind: TokenBucketFilterKind;
  /** The injected clock, or undefined for `globalThis` looked up at each use. */
  readonly clock: Clock | undefined;
}

const KNOWN_OPTIONS = new Set(['capacity', 'refillTokens', 'refillInterval', 'initialTokens', 'kind', 'clock']);
const CLOCK_METHODS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] as const;

/** Quotes a value for an error message: strings in quotes, everything else as `String()` would. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Returns `value`, or `fallback` when it is undefined (null is a value, and is rejected as one). */
function withDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function requireNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, received ${describe(value)}`);
  }
  return value;
}

function positiveSafeInteger(name: string, value: unknown): number {
  const number = requireNumber(name, value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new RangeError(`${name} must be a positive safe integer, received ${describe(value)}`);
  }
  return number;
}

function validClock(value: unknown): Clock {
  const clock = value as Partial<Clock> | null;
  const valid =
    typeof clock === 'object' &&
    clock !== null &&
    typeof clock.performance?.now === 'function' &&
    CLOCK_METHODS.every((method) => typeof clock[method] === 'function');
  if (!valid) {
    throw new TypeError(
      `clock must have performance.now(), ${CLOCK_METHODS.join(', ')}, received ${describe(value)}`,
    );
  }
  return value as Clock;
}

/**
 * Validates bucket options and fills in defaults.
 *
 * Throws `TypeError` when `options` is not an object, an option has the wrong type or is unknown (a
 * misspelt option would otherwise silently fall back to its default), and `RangeError` when a number
 * is out of range. Every message names the option and the value received.
 */
export function resolveOptions(options: TokenBucketFilterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`Unknown option ${describe(key)}; known options: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const capacity = positiveSafeInteger('capacity', options.capacity);
  const refillTokens = positiveSafeInteger('refillTokens', withDefault(options.refillTokens, 1));
  const refillInterval = requireNumber('refillInterval', withDefault(options.refillInterval, 1000));
  if (!Number.isFinite(refillInterval) || refillInterval <= 0) {
    throw new RangeError(`refillInterval must be a positive finite number of ms, received ${describe(refillInterval)}`);
  }
  const initialTokens = requireNumber('initialTokens', withDefault(options.initialTokens, capacity));
  if (!Number.isInteger(initialTokens) || initialTokens < 0 || initialTokens > capacity) {
    throw new RangeError(
      `initialTokens must be an integer from 0 to capacity (${capacity}), received ${describe(initialTokens)}`,
    );
  }
  const kind = withDefault(options.kind, 'lazy');
  if (kind !== 'lazy' && kind !== 'timer') {
    throw new TypeError(`kind must be 'lazy' or 'timer', received ${describe(kind)}`);
  }
  const clock = options.clock === undefined ? undefined : validClock(options.clock);
  return { capacity, refillTokens, refillInterval, initialTokens, kind, clock };
}

/**
 * Validates a token count argument. Returns an error to reject or throw with, or undefined if valid:
 * a `RangeError` naming the value when it is not a positive integer or is above `capacity`.
 */
export function checkCount(count: unknown, capacity: number): RangeError | undefined {
  if (typeof count === 'number' && Number.isInteger(count) && count > 0 && count <= capacity) return undefined;
  if (typeof count === 'number' && Number.isInteger(count) && count > capacity) {
    return new RangeError(`count must not exceed the capacity (${capacity}), received ${count}`);
  }
  return new RangeError(`count must be a positive integer, received ${describe(count)}`);
}

/** Validates `maxWait`: returns a `RangeError` naming the value unless it is a number ≥ 0 (or Infinity). */
export function checkMaxWait(maxWait: unknown): RangeError | undefined {
  if (typeof maxWait === 'number' && maxWait >= 0) return undefined;
  return new RangeError(`maxWait must be a non-negative number of ms, received ${describe(maxWait)}`);
}
