/**
 * The HTTP response header fields of a rate limit, computed from a bucket: the IETF `RateLimit-Policy`
 * and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-09, their structured-field form) and
 * `Retry-After`. Framework-neutral: plain strings, for any server.
 */
import { formatValue, ownOption, positiveSafeInteger, requireNumber, withDefault } from '../options/format.js';
import { isKeyedSource } from '../options/keyedSource.js';
import { checkCount } from '../options/requestOptions.js';

/** The limit a {@link RateLimitPolicy} describes: the options the bucket was created with. */
export interface RateLimitPolicyLimit {
  /** Most tokens the bucket holds: the policy's quota `q`. */
  capacity: number;
  /** Tokens added at each refill step (default 1). */
  refillTokens?: number | undefined;
  /** Time between refill steps, in ms (default 1000). */
  refillInterval?: number | undefined;
}

/**
 * RateLimitPolicy is a quota policy as the `RateLimit-Policy` field states it, made once by
 * {@link rateLimitPolicy} and passed to every {@link rateLimitHeaders} call.
 */
export interface RateLimitPolicy {
  /** The policy's name: the String item that ties `RateLimit` to `RateLimit-Policy`. */
  readonly name: string;
  /** `q`: the quota, the bucket's capacity (tokens). */
  readonly quota: number;
  /** `w`: the window, in whole seconds: how long an empty bucket takes to refill to its quota, rounded up. */
  readonly window: number;
  /** The `RateLimit-Policy` field value, for example `"per-client";q=3;w=3`. */
  readonly field: string;
}

/**
 * What {@link rateLimitHeaders} reads of a plain bucket: every in-process bucket of this package
 * (lazy, timer, shared) has it.
 */
export interface RateLimitedBucket {
  readonly capacity: number;
  readonly available: number;
  waitTime(count?: number): number;
}

/** What {@link rateLimitHeaders} reads of a keyed bucket (`KeyedTokenBucketFilter`). */
export interface RateLimitedKeyedBucket<K> {
  readonly capacity: number;
  available(key: K): number;
  waitTime(key: K, count?: number): number;
}

/** Options of {@link rateLimitHeaders} for a plain bucket. */
export interface RateLimitHeaderOptions {
  /**
   * Add `Retry-After`: set it on a refused (429) response. Default false: a response that was served
   * needs none.
   */
  retryAfter?: boolean | undefined;
  /** Tokens the next request takes, for `Retry-After` (default 1): a positive integer up to the capacity. */
  count?: number | undefined;
  /** Only for a keyed bucket. */
  key?: never;
}

/** Options of {@link rateLimitHeaders} for a keyed bucket: `key` (required), `retryAfter`, `count`. */
export interface KeyedRateLimitHeaderOptions<K> {
  /** The key (client, user, API key) whose bucket the fields describe. Reading it creates no bucket. */
  key: K;
  /** Add `Retry-After`, as in {@link RateLimitHeaderOptions.retryAfter}. */
  retryAfter?: boolean | undefined;
  /** Tokens the next request takes, as in {@link RateLimitHeaderOptions.count}. */
  count?: number | undefined;
}

/** The header fields {@link rateLimitHeaders} returns, by their canonical names. */
export interface RateLimitHeaderFields {
  /** The policy, for example `"per-client";q=3;w=3`: the same on every response. */
  'RateLimit-Policy': string;
  /** What is left of it now, for example `"per-client";r=0;t=3`. */
  RateLimit: string;
  /** Whole seconds, rounded up, until a request of `count` tokens would be granted; only with `retryAfter`. */
  'Retry-After'?: string;
}

const LIMIT_OPTIONS = ['capacity', 'refillTokens', 'refillInterval'];
const HEADER_OPTIONS = ['key', 'retryAfter', 'count'];

/**
 * Returns the quota policy named `name` for buckets of `limit` (the `capacity`, `refillTokens` and
 * `refillInterval` they were created with): quota `q` = capacity, window `w` = the time an empty
 * bucket takes to refill to its capacity, in seconds, rounded up (`ceil(capacity / refillTokens) ×
 * refillInterval`). Make it once, and pass it to every {@link rateLimitHeaders} call.
 *
 * A token bucket has no fixed window: a client can spend the whole quota at once and then gets
 * `refillTokens` more every `refillInterval`. The window stated is the one after which an idle client
 * has its whole quota back, which is what `RateLimit`'s `t` counts down to.
 *
 * Throws `TypeError` when `name` is not a string, `limit` is not an object or has an unknown or
 * wrongly typed option; `RangeError` when `name` is empty or has a character outside printable ASCII
 * (a structured-field String cannot hold it), or a number is out of range (as a bucket's options).
 *
 * @example
 * const limit = { capacity: 3, refillTokens: 1, refillInterval: 1000 };
 * rateLimitPolicy('per-client', limit).field; // '"per-client";q=3;w=3'
 */
export function rateLimitPolicy(name: string, limit: RateLimitPolicyLimit): RateLimitPolicy {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, received ${formatValue(name)}`);
  // A structured-field String holds printable ASCII only (RFC 8941, section 3.3.3).
  if (!/^[\x20-\x7e]+$/.test(name)) {
    throw new RangeError(
      `name must be a non-empty string of printable ASCII characters, received ${formatValue(name)}`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
  if (typeof limit !== 'object' || limit === null) {
    throw new TypeError(`limit must be an object, received ${formatValue(limit)}`);
  }
  for (const option of Object.keys(limit)) {
    if (!LIMIT_OPTIONS.includes(option)) {
      throw new TypeError(`Unknown limit option ${formatValue(option)}; known options: ${LIMIT_OPTIONS.join(', ')}`);
    }
  }
  const capacity = positiveSafeInteger('capacity', ownOption(limit, 'capacity'));
  const refillTokens = positiveSafeInteger('refillTokens', withDefault(ownOption(limit, 'refillTokens'), 1));
  const refillInterval = requireNumber('refillInterval', withDefault(ownOption(limit, 'refillInterval'), 1000));
  if (!(refillInterval > 0 && refillInterval < Infinity)) {
    throw new RangeError(`refillInterval must be a positive number of ms, received ${formatValue(refillInterval)}`);
  }
  const window = Math.ceil((Math.ceil(capacity / refillTokens) * refillInterval) / 1000);
  const item = serializeString(name);
  return Object.freeze({ name, quota: capacity, window, field: `${item};q=${capacity};w=${window}` });
}

/**
 * Returns the rate-limit header fields of `bucket` now, or of the bucket of `options.key` in a keyed
 * bucket, under `policy`: `RateLimit-Policy` (the policy's field), `RateLimit` with `r` = the tokens
 * that could be taken now (`available`: 0 while callers are queued) and `t` = whole seconds, rounded
 * up, until the bucket holds its whole quota again, and, with `retryAfter: true`, `Retry-After` =
 * whole seconds, rounded up, until a request of `count` tokens would be granted (so a client that
 * obeys is never refused for being early). Every figure comes from the bucket's exact `waitTime()`;
 * nothing is taken or created (a key's bucket included). Set them with any framework:
 * `response.setHeader(name, value)` for each entry, `res.set(fields)`, `reply.headers(fields)`.
 *
 * Throws `TypeError` when `policy` was not made by {@link rateLimitPolicy}, `options` is not an object
 * or has an unknown option, a keyed bucket has no `key` or a plain one has one; `RangeError` for a
 * `count` that is not a positive integer up to the capacity; and what the bucket's `waitTime()`
 * throws (`BucketClosedError` after `close()`, `InvalidClockReadingError`).
 *
 * @example
 * const policy = rateLimitPolicy('per-client', limit);
 * const allowed = perClient.tryGetToken(client);
 * for (const [name, value] of Object.entries(rateLimitHeaders(policy, perClient, { key: client, retryAfter: !allowed }))) {
 *   response.setHeader(name, value);
 * }
 */
export function rateLimitHeaders<K>(
  policy: RateLimitPolicy,
  bucket: RateLimitedKeyedBucket<K>,
  options: KeyedRateLimitHeaderOptions<K>,
): RateLimitHeaderFields;
export function rateLimitHeaders(
  policy: RateLimitPolicy,
  bucket: RateLimitedBucket,
  options?: RateLimitHeaderOptions,
): RateLimitHeaderFields;
export function rateLimitHeaders(
  policy: RateLimitPolicy,
  bucket: RateLimitedBucket | RateLimitedKeyedBucket<unknown>,
  options: RateLimitHeaderOptions | KeyedRateLimitHeaderOptions<unknown> = {},
): RateLimitHeaderFields {
  if (!isPolicy(policy)) {
    throw new TypeError(`policy must be made by rateLimitPolicy(), received ${formatValue(policy)}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${formatValue(options)}`);
  }
  for (const option of Object.keys(options)) {
    if (!HEADER_OPTIONS.includes(option)) {
      throw new TypeError(
        `Unknown rateLimitHeaders() option ${formatValue(option)}; known options: ${HEADER_OPTIONS.join(', ')}`,
      );
    }
  }
  const retryAfter = withDefault(ownOption(options, 'retryAfter'), false);
  if (typeof retryAfter !== 'boolean') {
    throw new TypeError(`retryAfter must be a boolean, received ${formatValue(retryAfter)}`);
  }
  const count = withDefault(ownOption(options, 'count'), 1);
  const badCount = checkCount(count, bucket.capacity);
  if (badCount !== undefined) throw badCount;
  const hasKey = Object.hasOwn(options, 'key');
  let available: number;
  let waitTime: (tokens: number) => number;
  if (isKeyedSource(bucket)) {
    if (!hasKey)
      throw new TypeError('rateLimitHeaders() of a keyed bucket needs a key option: the key whose bucket to describe');
    const keyed = bucket as RateLimitedKeyedBucket<unknown>;
    const key = ownOption(options, 'key');
    available = keyed.available(key);
    waitTime = (tokens) => keyed.waitTime(key, tokens);
  } else {
    if (hasKey) {
      throw new TypeError(
        `key applies only to a keyed bucket (one whose available is a method of the key); received key ${formatValue(ownOption(options, 'key'))}`,
      );
    }
    const plain = bucket as RateLimitedBucket;
    available = plain.available;
    waitTime = (tokens) => plain.waitTime(tokens);
  }
  const item = serializeString(policy.name);
  const whole = Math.min(policy.quota, bucket.capacity);
  const fields: RateLimitHeaderFields = {
    'RateLimit-Policy': policy.field,
    RateLimit: `${item};r=${Math.min(available, policy.quota)};t=${seconds(waitTime(whole))}`,
  };
  if (retryAfter) fields['Retry-After'] = String(seconds(waitTime(count as number)));
  return fields;
}

/** Whole seconds, rounded up, in a wait of `ms` milliseconds. */
function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Serializes `value` (printable ASCII) as a structured-field String: quoted, `"` and `\` escaped. */
function serializeString(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

function isPolicy(policy: unknown): policy is RateLimitPolicy {
  const candidate = policy as Partial<RateLimitPolicy> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    typeof candidate.field === 'string' &&
    typeof candidate.quota === 'number'
  );
}
