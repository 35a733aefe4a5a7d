import type { Clock } from './clock.js';
import { formatValue, ownOption, withDefault } from './options/format.js';
import { isKeyedSource } from './options/keyedSource.js';
import { checkMaxWait, isAbortSignal } from './options/requestOptions.js';
import type { GetTokenOptions } from './types/options.js';
import type { AbortSignalLike } from './types/platform.js';
import { concurrentWrapper } from './wrap/concurrent.js';

/**
 * TokenSource is what {@link wrap} takes tokens from: any bucket of this package, or an object whose
 * `getToken(count, options)` follows the `TokenBucketFilter.getToken()` contract.
 */
export interface TokenSource {
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
}

/**
 * KeyedTokenSource is a keyed bucket that {@link wrap} can take tokens from with a `key` option:
 * `KeyedTokenBucketFilter`, `RedisKeyedTokenBucketFilter`, or any object whose `getToken(key, count,
 * options)` follows their contract. `wrap()` tells it from a plain {@link TokenSource} by its
 * `available`: a method that declares a key parameter here, a number (or, on the Redis bucket, a
 * method of no parameter) on a plain bucket.
 */
export interface KeyedTokenSource<K> {
  getToken(key: K, count?: number, options?: GetTokenOptions): Promise<void>;
  available(key: K): unknown;
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
  /**
   * The longest a call waits, in ms, counted from the call: for a slot (with `concurrency`) and then for
   * its tokens. A call whose tokens would come later rejects with `MaxWaitExceededError` as soon as the
   * bucket knows it (at once); one still waiting for a slot when `maxWait` runs out rejects with a
   * `MaxWaitExceededError` then (its `waitTime` is how long it waited).
   */
  maxWait?: number | undefined;
  /**
   * Aborts every waiting and later call with `signal.reason` (for example on shutdown): calls waiting
   * for a slot or for their tokens leave at once and free their places. Calls already running `fn`
   * run on.
   */
  signal?: AbortSignalLike | undefined;
  /**
   * The most calls of `fn` in flight at once, on top of the rate: a positive integer, or `Infinity` (no
   * cap, the default). A call is in flight from the moment it takes a slot until the promise `fn`
   * returned settles (or `fn` throws); a call that rejects for any reason frees its slot. Calls wait for
   * a slot in one FIFO order, then, holding it, for their tokens: they never hold tokens while they wait
   * for a slot.
   */
  concurrency?: number | undefined;
  /**
   * Where a call waiting for a slot reads the time and sets its `maxWait` timer (only with
   * `concurrency` and a finite `maxWait`). Default: the global clock, looked up at each use, so fake
   * timers installed after the import work; give the bucket's own clock when it was given one.
   */
  clock?: Clock | undefined;
  /** Only for a keyed bucket: see {@link KeyedWrapOptions}. */
  key?: never;
}

/** Options of {@link wrap} for a keyed bucket: `key` (required), `cost`, `maxWait` and `signal`. */
export interface KeyedWrapOptions<A extends readonly unknown[], K> {
  /**
   * The key whose bucket a call takes its tokens from: a function of the call's arguments (for example
   * the user ID in the first one). A key function that throws makes the call reject with what it threw.
   */
  key: (...args: A) => K;
  /** Tokens each call takes from its key's bucket, as in {@link WrapOptions.cost}. */
  cost?: number | ((...args: A) => number) | undefined;
  /** The longest a call waits for its tokens, in ms, as in {@link WrapOptions.maxWait}. */
  maxWait?: number | undefined;
  /** Aborts every waiting and later call, as in {@link WrapOptions.signal}. */
  signal?: AbortSignalLike | undefined;
  /**
   * Not with a key: one cap for every key would let a call that holds a slot while its key's tokens
   * are far away hold back calls of other keys whose tokens are due.
   */
  concurrency?: never;
  /** Not with a key (it serves `concurrency` only). */
  clock?: never;
}

const KNOWN_OPTIONS = ['cost', 'maxWait', 'signal', 'concurrency', 'clock', 'key'];
const CLOCK_METHODS = ['setTimeout', 'clearTimeout'] as const;

/**
 * Returns a function with the same parameters (and `this`) as `fn` that first awaits `cost` tokens
 * from `bucket`, then calls `fn` and resolves with its awaited result. Its type says what it does:
 * it returns `Promise<Awaited<ReturnType<fn>>>`, whether `fn` is sync or async.
 *
 * With `concurrency: n`, at most `n` calls of `fn` are in flight at once; a call waits for a slot,
 * then for its tokens (see {@link WrapOptions.concurrency}). Without it, the wrapped function costs
 * one `getToken()` and one `then()` per call, nothing more.
 *
 * For a keyed bucket, `key` (a function of the call's arguments) names the key whose bucket each call
 * draws from: `wrap(perUser, (user, query) => …, { key: (user) => user })`.
 *
 * The returned function never throws: a `getToken()` rejection (`RangeError`, `MaxWaitExceededError`,
 * `BucketClosedError`, an abort reason), an exception of `fn`, `cost` or `key` becomes a rejection,
 * and `fn` is not called unless the tokens were granted.
 *
 * Throws at once, before any call: `TypeError` when `fn` is not a function, an option is unknown or has
 * the wrong type (`signal` not an `AbortSignal`, `clock` without its methods), a keyed bucket has no
 * `key`, a plain one has one, or `key` is combined with `concurrency`; `RangeError` when `cost` is a
 * number that is not a positive integer, `maxWait` is not a non-negative number or `concurrency` is not
 * a positive integer (or `Infinity`). Options are read once, as own properties.
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 10, refillInterval: 1000 });
 * const search = wrap(bucket, (query: string) => fetch(`https://example.com/?q=${query}`), { concurrency: 4 });
 * const response = await search('token bucket'); // Response; at most 10 a second, 4 at a time
 */
export function wrap<A extends unknown[], R, K, This = unknown>(
  bucket: KeyedTokenSource<K>,
  fn: (this: This, ...args: A) => R,
  options: KeyedWrapOptions<A, K>,
): (this: This, ...args: A) => Promise<Awaited<R>>;
export function wrap<A extends unknown[], R, This = unknown>(
  bucket: TokenSource,
  fn: (this: This, ...args: A) => R,
  options?: WrapOptions<A>,
): (this: This, ...args: A) => Promise<Awaited<R>>;
export function wrap<A extends unknown[], R, This = unknown>(
  bucket: TokenSource | KeyedTokenSource<unknown>,
  fn: (this: This, ...args: A) => R,
  options: WrapOptions<A> | KeyedWrapOptions<A, unknown> = {},
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
  const concurrency = withDefault(ownOption(options, 'concurrency'), Infinity);
  const clock = ownOption(options, 'clock');
  const key = ownOption(options, 'key');
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(name)) {
      throw new TypeError(`Unknown wrap() option ${formatValue(name)}; known options: ${KNOWN_OPTIONS.join(', ')}`);
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
  checkConcurrency(concurrency);
  if (clock !== undefined) checkClock(clock, concurrency);
  const getTokenOptions: GetTokenOptions | undefined =
    maxWait === undefined && signal === undefined ? undefined : { maxWait: maxWait as number | undefined, signal };

  if (isKeyedSource(bucket)) {
    const keyed = bucket as KeyedTokenSource<unknown>;
    if (typeof key !== 'function') {
      throw new TypeError(
        `wrap() of a keyed bucket needs a key option, a function of the call's arguments that returns the key; received ${formatValue(key)}`,
      );
    }
    if (concurrency !== Infinity) {
      throw new TypeError(
        `concurrency cannot be combined with key: a call holding a slot while its key's tokens are due later would hold back other keys' calls; received concurrency ${formatValue(concurrency)}`,
      );
    }
    const keyOf = key as (...args: A) => unknown;
    return function wrapped(this: This, ...args: A): Promise<Awaited<R>> {
      let count: number;
      let forKey: unknown;
      try {
        forKey = keyOf(...args);
        count = typeof cost === 'number' ? cost : cost(...args);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what key() or cost() threw, untouched
        return Promise.reject(error);
      }
      return keyed.getToken(forKey, count, getTokenOptions).then(() => fn.apply(this, args) as Awaited<R>);
    };
  }
  if (key !== undefined) {
    throw new TypeError(
      `key applies only to a keyed bucket (one whose available is a method of the key, such as KeyedTokenBucketFilter); this bucket is not keyed, received key ${formatValue(key)}`,
    );
  }
  const source = bucket as TokenSource;
  if (concurrency !== Infinity) {
    return concurrentWrapper({
      getToken: (count, callOptions) => source.getToken(count, callOptions),
      capacity: () => (source as { capacity?: unknown }).capacity,
      fn,
      cost,
      maxWait: maxWait as number | undefined,
      signal,
      concurrency,
      clock: clock as Clock | undefined,
    });
  }
  return function wrapped(this: This, ...args: A): Promise<Awaited<R>> {
    let count: number;
    try {
      count = typeof cost === 'number' ? cost : cost(...args);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what cost() threw, untouched
      return Promise.reject(error);
    }
    return source.getToken(count, getTokenOptions).then(() => fn.apply(this, args) as Awaited<R>);
  };
}

/** Throws unless `concurrency` is a positive safe integer or `Infinity`. */
function checkConcurrency(concurrency: unknown): asserts concurrency is number {
  if (typeof concurrency !== 'number') {
    throw new TypeError(`concurrency must be a positive integer or Infinity, received ${formatValue(concurrency)}`);
  }
  if (concurrency !== Infinity && !(Number.isSafeInteger(concurrency) && concurrency > 0)) {
    throw new RangeError(`concurrency must be a positive integer or Infinity, received ${formatValue(concurrency)}`);
  }
}

/** Throws unless `clock` has what a slot's maxWait timer uses, and `concurrency` is set. */
function checkClock(clock: unknown, concurrency: number): void {
  const candidate = clock as Partial<Clock> | null;
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.performance?.now === 'function' &&
    CLOCK_METHODS.every((method) => typeof candidate[method] === 'function');
  if (!valid) {
    throw new TypeError(
      `clock must have performance.now(), ${CLOCK_METHODS.join(', ')}, received ${formatValue(clock)}`,
    );
  }
  if (concurrency === Infinity) {
    throw new TypeError(
      'clock is used only with concurrency (for the maxWait of a call waiting for a slot); the bucket has its own clock',
    );
  }
}
