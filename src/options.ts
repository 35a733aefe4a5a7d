import type { Clock } from './clock.js';
import type { AbortSignalLike, TokenBucketFilterKind } from './TokenBucketFilter.js';

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

/**
 * Returns the own property `key` of `record`, or undefined when `record` has none: options are never
 * read through the prototype chain, so a polluted `Object.prototype` changes no bucket.
 */
export function ownOption(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/** Returns `value`, or `fallback` when it is undefined (null is a value, and is rejected as one). */
export function withDefault<T>(value: T | undefined, fallback: T): T {
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
    throw new TypeError(`clock must have performance.now(), ${CLOCK_METHODS.join(', ')}, received ${describe(value)}`);
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
export function resolveOptions(options: unknown): ResolvedOptions {
  // `unknown`, not TokenBucketFilterOptions: the options may come from untyped JavaScript callers.
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`Unknown option ${describe(key)}; known options: ${[...KNOWN_OPTIONS].join(', ')}`);
    }
  }
  const limit = resolveLimit('', options, true);
  return { ...limit, kind: resolveKind(ownOption(options, 'kind')), clock: resolveClock(ownOption(options, 'clock')) };
}

/** One limit after validation, with defaults filled in. */
export interface ResolvedLimit {
  readonly capacity: number;
  readonly refillTokens: number;
  readonly refillInterval: number;
  readonly initialTokens: number;
}

/** Options of a bucket of one or several limits after validation, with defaults filled in. */
export interface ResolvedBucketOptions {
  /** One or more limits, in the order given. */
  readonly limits: readonly ResolvedLimit[];
  readonly kind: TokenBucketFilterKind;
  /** The injected clock, or undefined for `globalThis` looked up at each use. */
  readonly clock: Clock | undefined;
}

const LIMIT_OPTIONS = ['capacity', 'refillTokens', 'refillInterval', 'initialTokens'];
const MULTI_OPTIONS = new Set(['limits', 'kind', 'clock']);

/**
 * Validates the options of a bucket that may have several limits: either the single-limit options
 * of {@link resolveOptions} or `{ limits: [...], kind?, clock? }`. Throws like {@link resolveOptions};
 * option names in messages are qualified, as in `limits[1].capacity`.
 */
export function resolveBucketOptions(options: unknown): ResolvedBucketOptions {
  // `unknown`, not TokenBucketFilterOptions | MultiLimitFilterOptions: the options may come from untyped callers.
  if (typeof options !== 'object' || options === null || !Object.hasOwn(options, 'limits')) {
    const single = resolveOptions(options);
    return { limits: [single], kind: single.kind, clock: single.clock };
  }
  for (const key of Object.keys(options)) {
    if (!MULTI_OPTIONS.has(key)) {
      const hint = LIMIT_OPTIONS.includes(key) ? ` (with limits, give ${key} inside each limit)` : '';
      throw new TypeError(`Unknown option ${describe(key)} beside limits${hint}; known options: limits, kind, clock`);
    }
  }
  return {
    limits: resolveLimitList(ownOption(options, 'limits'), true),
    kind: resolveKind(ownOption(options, 'kind')),
    clock: resolveClock(ownOption(options, 'clock')),
  };
}

/**
 * Validates the options of `reconfigure()` against the limits now in force and returns the new limits
 * (their `initialTokens` is meaningless and set to the capacity). Throws `TypeError` for a wrong type,
 * an unknown option, or the single-limit form on a bucket of several limits; `RangeError` for a number
 * out of range. Messages name the option and the value.
 */
export function resolveReconfigure(
  options: unknown,
  current: readonly Omit<ResolvedLimit, 'initialTokens'>[],
): ResolvedLimit[] {
  // `unknown`, not ReconfigureOptions: the options may come from untyped JavaScript callers.
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${describe(options)}`);
  }
  if (Object.hasOwn(options, 'limits')) {
    for (const key of Object.keys(options)) {
      if (key !== 'limits') throw new TypeError(`Unknown option ${describe(key)} beside limits; known options: limits`);
    }
    return resolveLimitList(ownOption(options, 'limits'), false);
  }
  for (const key of Object.keys(options)) {
    if (!['capacity', 'refillTokens', 'refillInterval'].includes(key)) {
      throw new TypeError(
        `Unknown option ${describe(key)}; known options: capacity, refillTokens, refillInterval, limits`,
      );
    }
  }
  const [only] = current;
  if (current.length !== 1 || only === undefined) {
    throw new TypeError(`This bucket has ${current.length} limits: reconfigure it with { limits: [...] }`);
  }
  const merged = {
    capacity: withDefault(ownOption(options, 'capacity'), only.capacity),
    refillTokens: withDefault(ownOption(options, 'refillTokens'), only.refillTokens),
    refillInterval: withDefault(ownOption(options, 'refillInterval'), only.refillInterval),
  };
  return [resolveLimit('', merged, false)];
}

function resolveLimitList(limits: unknown, allowInitial: boolean): ResolvedLimit[] {
  if (!Array.isArray(limits) || limits.length === 0) {
    throw new TypeError(`limits must be a non-empty array of limits, received ${describe(limits)}`);
  }
  return limits.map((limit: unknown, i) => {
    const name = `limits[${i}]`;
    if (typeof limit !== 'object' || limit === null) {
      throw new TypeError(`${name} must be an object, received ${describe(limit)}`);
    }
    const known = allowInitial ? LIMIT_OPTIONS : LIMIT_OPTIONS.slice(0, 3);
    for (const key of Object.keys(limit)) {
      if (!known.includes(key)) {
        throw new TypeError(`Unknown option ${describe(key)} in ${name}; known options: ${known.join(', ')}`);
      }
    }
    return resolveLimit(`${name}.`, limit, allowInitial);
  });
}

/** The shortest `refillInterval` (ms) a bucket accepts: 1 µs. */
export const MIN_REFILL_INTERVAL = 0.001;
/** The longest `refillInterval` (ms) a bucket accepts: 2^42 ms (about 139 years), the clock's range. */
export const MAX_REFILL_INTERVAL = 2 ** 42;
/** The fastest refill a bucket accepts, in tokens per ms: 2^20 (about 10^9 tokens per second). */
export const MAX_REFILL_RATE = 2 ** 20;

function resolveLimit(prefix: string, options: object, allowInitial: boolean): ResolvedLimit {
  const capacity = positiveSafeInteger(`${prefix}capacity`, ownOption(options, 'capacity'));
  const refillTokens = positiveSafeInteger(`${prefix}refillTokens`, withDefault(ownOption(options, 'refillTokens'), 1));
  const refillInterval = requireNumber(
    `${prefix}refillInterval`,
    withDefault(ownOption(options, 'refillInterval'), 1000),
  );
  if (!(refillInterval >= MIN_REFILL_INTERVAL && refillInterval <= MAX_REFILL_INTERVAL)) {
    // Shorter steps are closer together than clock readings can tell apart (readings are doubles, and
    // an epoch-based clock near 2^41 ms resolves about 0.24 µs); longer ones would never happen.
    throw new RangeError(
      `${prefix}refillInterval must be a number of ms from 0.001 (1 µs) to 2^42 (about 139 years), received ${describe(refillInterval)}`,
    );
  }
  // Tokens beyond the capacity are discarded at every step, so the rate that counts is the effective one.
  const rate = Math.min(refillTokens, capacity) / refillInterval;
  if (rate > MAX_REFILL_RATE) {
    throw new RangeError(
      `${prefix}refillTokens / refillInterval must be at most 2^20 (1048576) tokens per ms, so that the tokens of 2^42 ms (about 139 years) of steps fit a 64-bit integer; received ${Math.min(refillTokens, capacity)} tokens every ${refillInterval} ms`,
    );
  }
  const initialTokens = requireNumber(
    `${prefix}initialTokens`,
    allowInitial ? withDefault(ownOption(options, 'initialTokens'), capacity) : capacity,
  );
  if (!Number.isInteger(initialTokens) || initialTokens < 0 || initialTokens > capacity) {
    throw new RangeError(
      `${prefix}initialTokens must be an integer from 0 to capacity (${capacity}), received ${describe(initialTokens)}`,
    );
  }
  // `+ 0` turns -0 into 0, so that `available` never reports -0.
  return { capacity, refillTokens, refillInterval, initialTokens: initialTokens + 0 };
}

function resolveKind(value: unknown): TokenBucketFilterKind {
  const kind = withDefault(value, 'lazy');
  if (kind !== 'lazy' && kind !== 'timer') {
    throw new TypeError(`kind must be 'lazy' or 'timer', received ${describe(kind)}`);
  }
  return kind;
}

function resolveClock(value: unknown): Clock | undefined {
  return value === undefined ? undefined : validClock(value);
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

/** Whether `value` looks like an `AbortSignal`: an object with a boolean `aborted` and listener methods. */
export function isAbortSignal(value: unknown): value is AbortSignalLike {
  const signal = value as Partial<AbortSignalLike> | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' &&
    typeof signal.removeEventListener === 'function'
  );
}

/**
 * Returns what an aborted `signal` rejects its callers with: its `reason`, untouched, or, for a
 * signal-like object that reports `aborted` with no reason (a real `AbortSignal` always has one), a
 * `DOMException` named `AbortError`, as `AbortController.abort()` with no reason would give.
 */
export function abortReason(signal: AbortSignalLike): unknown {
  const reason: unknown = signal.reason;
  return reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
}

/** The options of one `getToken()` call, validated and read once. */
export interface GetTokenRequest {
  readonly signal: AbortSignalLike | undefined;
  readonly maxWait: number | undefined;
}

/** What a `getToken()` with no options asks for. */
export const PLAIN_REQUEST: GetTokenRequest = Object.freeze({ signal: undefined, maxWait: undefined });

/**
 * Reads and validates the options of a `getToken()` call (every implementation's), each property once
 * and only as an own property. Throws what the call must reject with: a `TypeError` when `options` is
 * not an object, names an unknown option (a misspelt `maxwait` or a `timeout` would otherwise mean an
 * unbounded wait) or `signal` is not an `AbortSignal`, a `RangeError` for a bad `maxWait`, the
 * signal's {@link abortReason} when it is already aborted, and whatever a getter or `Proxy` trap of the
 * options or the signal throws. Callers turn the throw into a rejection.
 */
export function readGetTokenOptions(options: unknown): GetTokenRequest {
  if (options === undefined) return PLAIN_REQUEST;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'signal' && key !== 'maxWait') {
      throw new TypeError(`Unknown getToken() option ${describe(key)}; known options: signal, maxWait`);
    }
  }
  const signal = ownOption(options, 'signal');
  const maxWait = ownOption(options, 'maxWait');
  let aborted = false;
  if (signal !== undefined) {
    if (!isAbortSignal(signal)) throw new TypeError(`signal must be an AbortSignal, received ${describe(signal)}`);
    aborted = signal.aborted;
  }
  if (maxWait !== undefined) {
    const badMaxWait = checkMaxWait(maxWait);
    if (badMaxWait !== undefined) throw badMaxWait;
  }
  if (aborted) throw abortReason(signal as AbortSignalLike);
  return signal === undefined && maxWait === undefined
    ? PLAIN_REQUEST
    : { signal, maxWait: maxWait as number | undefined };
}
