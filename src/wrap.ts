import { formatValue, ownOption, withDefault } from './options/format.js';
import { checkMaxWait, isAbortSignal } from './options/requestOptions.js';
import type { AbortSignalLike, GetTokenOptions } from './TokenBucketFilter.js';

/**
 * TokenSource is what {@link wrap} takes tokens from: any bucket of this package, or an object whose
 * `getToken(count, options)` follows the `TokenBucketFilter.getToken()` contract (for a keyed bucket:
 * `{ getToken: (count, options) => keyed.getToken(key, count, options) }`).
 */
export interface TokenSource {
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
}

/** Options of {@link wrap}. */
export interface WrapOptions<A extends readonly unknown[]> {
  /**
   * Tokens each call takes: a positive integer (default 1), or a function of the call's arguments that
   * returns one (for example the size of a batch). A cost above the bucket's capacity, or a function
   * that returns a bad count, makes that call reject with `RangeError`; a function that throws makes
   * the call reject with what it threw.
   */
  cost?: number | ((...args: A) => number) | undefined;
  /** `maxWait` (ms) of every `getToken()`: calls that would wait longer reject with `MaxWaitExceededError`. */
  maxWait?: number | undefined;
  /** Aborts every waiting and later call with `signal.reason` (for example on shutdown). */
  signal?: AbortSignalLike | undefined;
}

/**
 * Returns a function with the same parameters (and `this`) as `fn` that first awaits `cost` tokens
 * from `bucket`, then calls `fn` and resolves with its awaited result. Its type says what it does:
 * it returns `Promise<Awaited<ReturnType<fn>>>`, whether `fn` is sync or async.
 *
 * The returned function never throws: a `getToken()` rejection (`RangeError`, `MaxWaitExceededError`,
 * `BucketClosedError`, an abort reason) or an exception of `fn` becomes a rejection, and `fn` is not
 * called unless the tokens were granted.
 *
 * Throws at once, before any call: `TypeError` when `fn` is not a function, an option is unknown or has
 * the wrong type (`signal` not an `AbortSignal`), and `RangeError` when `cost` is a number that is not
 * a positive integer or `maxWait` is not a non-negative number. Options are read once, as own
 * properties.
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 10, refillInterval: 1000 });
 * const search = wrap(bucket, (query: string) => fetch(`https://example.com/?q=${query}`));
 * const response = await search('token bucket'); // Response; at most 10 requests per second
 */
export function wrap<A extends unknown[], R, This = unknown>(
  bucket: TokenSource,
  fn: (this: This, ...args: A) => R,
  options: WrapOptions<A> = {},
): (this: This, ...args: A) => Promise<Awaited<R>> {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
  if (typeof bucket !== 'object' || bucket === null || typeof bucket.getToken !== 'function') {
    throw new TypeError(`bucket must have a getToken() method, received ${formatValue(bucket)}`);
  }
  if (typeof fn !== 'function') throw new TypeError(`fn must be a function, received ${formatValue(fn)}`);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- validates input from untyped callers
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${formatValue(options)}`);
  }
  // Own properties only, each read once, and every one checked now: a wrong option fails here, at
  // once, rather than in every later call.
  const cost = withDefault(ownOption(options, 'cost'), 1) as WrapOptions<A>['cost'];
  const maxWait = ownOption(options, 'maxWait');
  const signal = ownOption(options, 'signal');
  for (const key of Object.keys(options)) {
    if (key !== 'cost' && key !== 'maxWait' && key !== 'signal') {
      throw new TypeError(`Unknown wrap() option ${formatValue(key)}; known options: cost, maxWait, signal`);
    }
  }
  if (maxWait !== undefined) {
    const badMaxWait = checkMaxWait(maxWait);
    if (badMaxWait !== undefined) throw badMaxWait;
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`signal must be an AbortSignal, received ${formatValue(signal)}`);
  }
  if (typeof cost === 'number') {
    if (!Number.isInteger(cost) || cost <= 0) {
      throw new RangeError(`cost must be a positive integer or a function, received ${formatValue(cost)}`);
    }
  } else if (typeof cost !== 'function') {
    throw new TypeError(`cost must be a positive integer or a function, received ${formatValue(cost)}`);
  }
  const getTokenOptions: GetTokenOptions | undefined =
    maxWait === undefined && signal === undefined ? undefined : { maxWait: maxWait as number | undefined, signal };

  return function wrapped(this: This, ...args: A): Promise<Awaited<R>> {
    let count: number;
    try {
      count = typeof cost === 'number' ? cost : cost(...args);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what cost() threw, untouched
      return Promise.reject(error);
    }
    return bucket.getToken(count, getTokenOptions).then(() => fn.apply(this, args) as Awaited<R>);
  };
}
