/**
 * Reading and validating the options of a bucket: one limit or several, `kind`, `clock`, `maxQueue`,
 * and the options of `reconfigure()`. Every message names the option and the value received.
 */
import type { Clock } from '../clock.js';
import { eventsOf, type BucketEvents } from '../core/events.js';
import type { TokenBucketFilterKind } from '../types/options.js';
import { formatValue, ownOption, positiveSafeInteger, requireNumber, withDefault } from './format.js';

/** Bucket options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly capacity: number;
  readonly refillTokens: number;
  readonly refillInterval: number;
  readonly initialTokens: number;
  readonly kind: TokenBucketFilterKind;
  /** The injected clock, or undefined for `globalThis` looked up at each use. */
  readonly clock: Clock | undefined;
  /** The most callers this instance's queue holds (a non-negative integer, or Infinity: the default). */
  readonly maxQueue: number;
  /** The observer's methods, or undefined without one. */
  readonly events: BucketEvents | undefined;
}

/** The options of one limit, in the order messages list them. */
const LIMIT_OPTIONS = ['capacity', 'refillTokens', 'refillInterval', 'initialTokens'];
/** The options of a bucket beside its limit or limits. */
const BUCKET_OPTIONS = ['kind', 'clock', 'maxQueue', 'observer'];
const KNOWN_OPTIONS = [...LIMIT_OPTIONS, ...BUCKET_OPTIONS];
const MULTI_OPTIONS = ['limits', ...BUCKET_OPTIONS];

/**
 * Throws a `TypeError` for the first own key of `record` that is not in `allowed`: "Unknown option
 * "key"`where`; known options: `listed`" (a misspelt option would otherwise silently fall back to its
 * default). `hint` may add a word about that key after `where`.
 */
function checkKeys(
  record: object,
  allowed: readonly string[],
  where = '',
  listed = allowed,
  hint: (key: string) => string = () => '',
): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `Unknown option ${formatValue(key)}${where}${hint(key)}; known options: ${listed.join(', ')}`,
      );
    }
  }
}

/** Throws a `TypeError` naming `name` and the value unless `value` is a non-null object. */
function requireObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${name} must be an object, received ${formatValue(value)}`);
  }
}

/** Validates the options a bucket has beside its limits: `kind`, `clock`, `maxQueue` and `observer`, in that order. */
function resolveBucketLevel(options: object): Omit<ResolvedBucketOptions, 'limits'> {
  return {
    kind: resolveKind(ownOption(options, 'kind')),
    clock: resolveClock(ownOption(options, 'clock')),
    maxQueue: resolveMaxQueue(ownOption(options, 'maxQueue')),
    events: eventsOf(ownOption(options, 'observer')),
  };
}

const CLOCK_METHODS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] as const;

function validClock(value: unknown): Clock {
  const clock = value as Partial<Clock> | null;
  const valid =
    typeof clock === 'object' &&
    clock !== null &&
    typeof clock.performance?.now === 'function' &&
    CLOCK_METHODS.every((method) => typeof clock[method] === 'function');
  if (!valid) {
    throw new TypeError(
      `clock must have performance.now(), ${CLOCK_METHODS.join(', ')}, received ${formatValue(value)}`,
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
export function resolveOptions(options: unknown): ResolvedOptions {
  // `unknown`, not TokenBucketFilterOptions: the options may come from untyped JavaScript callers.
  requireObject('options', options);
  checkKeys(options, KNOWN_OPTIONS);
  const limit = resolveLimit('', options, true);
  return { ...limit, ...resolveBucketLevel(options) };
}

/**
 * Validates `maxQueue`: returns it when it is a non-negative safe integer or `Infinity`, `Infinity`
 * when it is undefined (the default: no cap). Throws a `TypeError` for a non-number and a `RangeError`
 * for any other number, naming the value.
 */
export function resolveMaxQueue(value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  const maxQueue = requireNumber('maxQueue', value);
  if (maxQueue === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxQueue) && maxQueue >= 0)) return maxQueue + 0;
  throw new RangeError(`maxQueue must be a non-negative integer or Infinity, received ${formatValue(maxQueue)}`);
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
  /** The most callers this instance's queue holds (Infinity: no cap). */
  readonly maxQueue: number;
  /** The observer's methods, or undefined without one. */
  readonly events: BucketEvents | undefined;
}

/**
 * Validates the options of a bucket that may have several limits: either the single-limit options
 * of {@link resolveOptions} or `{ limits: [...], kind?, clock? }`. Throws like {@link resolveOptions};
 * option names in messages are qualified, as in `limits[1].capacity`.
 */
export function resolveBucketOptions(options: unknown): ResolvedBucketOptions {
  // `unknown`, not TokenBucketFilterOptions | MultiLimitFilterOptions: the options may come from untyped callers.
  if (typeof options !== 'object' || options === null || !Object.hasOwn(options, 'limits')) {
    const single = resolveOptions(options);
    const { kind, clock, maxQueue, events } = single;
    return { limits: [single], kind, clock, maxQueue, events };
  }
  checkKeys(options, MULTI_OPTIONS, ' beside limits', MULTI_OPTIONS, (key) =>
    LIMIT_OPTIONS.includes(key) ? ` (with limits, give ${key} inside each limit)` : '',
  );
  return { limits: resolveLimitList(ownOption(options, 'limits'), true), ...resolveBucketLevel(options) };
}

/** What `reconfigure()` changes, validated. */
export interface Reconfiguration {
  /** The new limits, or undefined when the options change only `maxQueue` (the limits stay as they are). */
  readonly limits: ResolvedLimit[] | undefined;
  /** The new `maxQueue`, or undefined to keep it. */
  readonly maxQueue: number | undefined;
}

/**
 * Validates the options of `reconfigure()` against the limits now in force and returns what changes:
 * the new limits (their `initialTokens` is meaningless and set to the capacity), unless `maxQueue` is
 * the only option given, and the new `maxQueue`, if given. Throws `TypeError` for a wrong type, an
 * unknown option, or the single-limit form on a bucket of several limits; `RangeError` for a number
 * out of range. Messages name the option and the value.
 */
export function resolveReconfigure(
  options: unknown,
  current: readonly Omit<ResolvedLimit, 'initialTokens'>[],
): Reconfiguration {
  // `unknown`, not ReconfigureOptions: the options may come from untyped JavaScript callers.
  requireObject('options', options);
  const keys = Object.keys(options);
  const given = ownOption(options, 'maxQueue');
  const maxQueue = given === undefined ? undefined : resolveMaxQueue(given);
  if (Object.hasOwn(options, 'limits')) {
    checkKeys(options, ['limits', 'maxQueue'], ' beside limits');
    return { limits: resolveLimitList(ownOption(options, 'limits'), false), maxQueue };
  }
  const changeable = LIMIT_OPTIONS.slice(0, 3);
  checkKeys(options, [...changeable, 'maxQueue'], '', [...changeable, 'limits', 'maxQueue']);
  // Only the cap: the limits and their schedule stay untouched (any other form restarts the schedule).
  if (keys.length > 0 && keys.every((key) => key === 'maxQueue')) return { limits: undefined, maxQueue };
  const [only] = current;
  if (current.length !== 1 || only === undefined) {
    throw new TypeError(`This bucket has ${current.length} limits: reconfigure it with { limits: [...] }`);
  }
  // Each limit option not given keeps its value in force.
  const merged = Object.fromEntries(
    changeable.map((key) => [key, withDefault(ownOption(options, key), only[key as keyof typeof only])]),
  );
  return { limits: [resolveLimit('', merged, false)], maxQueue };
}

function resolveLimitList(limits: unknown, allowInitial: boolean): ResolvedLimit[] {
  if (!Array.isArray(limits) || limits.length === 0) {
    throw new TypeError(`limits must be a non-empty array of limits, received ${formatValue(limits)}`);
  }
  return limits.map((limit: unknown, i) => {
    const name = `limits[${i}]`;
    requireObject(name, limit);
    checkKeys(limit, allowInitial ? LIMIT_OPTIONS : LIMIT_OPTIONS.slice(0, 3), ` in ${name}`);
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
      `${prefix}refillInterval must be a number of ms from 0.001 (1 µs) to 2^42 (about 139 years), received ${formatValue(refillInterval)}`,
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
      `${prefix}initialTokens must be an integer from 0 to capacity (${capacity}), received ${formatValue(initialTokens)}`,
    );
  }
  // `+ 0` turns -0 into 0, so that `available` never reports -0.
  return { capacity, refillTokens, refillInterval, initialTokens: initialTokens + 0 };
}

function resolveKind(value: unknown): TokenBucketFilterKind {
  const kind = withDefault(value, 'lazy');
  if (kind !== 'lazy' && kind !== 'timer') {
    throw new TypeError(`kind must be 'lazy' or 'timer', received ${formatValue(kind)}`);
  }
  return kind;
}

function resolveClock(value: unknown): Clock | undefined {
  return value === undefined ? undefined : validClock(value);
}
