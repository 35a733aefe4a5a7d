/**
 * Reading and validating the arguments of one call: a token count, and the options of `getToken()`
 * (`signal`, `maxWait`).
 */
import type { AbortSignalLike } from '../types/platform.js';
import { formatValue, ownOption } from './format.js';

/**
 * Validates a token count argument. Returns an error to reject or throw with, or undefined if valid:
 * a `RangeError` naming the value when it is not a positive integer or is above `capacity`.
 */
export function checkCount(count: unknown, capacity: number): RangeError | undefined {
  // On every call of every bucket: the test alone, so that the compiler inlines it whole.
  if (typeof count === 'number' && Number.isInteger(count) && count > 0 && count <= capacity) return undefined;
  return countError(count, capacity);
}

/** The refusal {@link checkCount} returns for an invalid `count` (out of line: the hot path only tests). */
function countError(count: unknown, capacity: number): RangeError {
  if (typeof count === 'number' && Number.isInteger(count) && count > capacity) {
    return new RangeError(`count must not exceed the capacity (${capacity}), received ${count}`);
  }
  return new RangeError(`count must be a positive integer, received ${formatValue(count)}`);
}

/** Validates `maxWait`: returns a `RangeError` naming the value unless it is a number ≥ 0 (or Infinity). */
export function checkMaxWait(maxWait: unknown): RangeError | undefined {
  if (typeof maxWait === 'number' && maxWait >= 0) return undefined;
  return new RangeError(`maxWait must be a non-negative number of ms, received ${formatValue(maxWait)}`);
}

/**
 * Validates the `ms` of `pause(ms)`: returns a `TypeError` when it is not a number and a `RangeError`
 * naming the value when it is negative, NaN or infinite (a bucket that should never grant again is
 * closed, not paused), or undefined when valid.
 */
export function checkPauseMs(ms: unknown): TypeError | RangeError | undefined {
  if (typeof ms !== 'number') return new TypeError(`pause() takes a number of ms, received ${formatValue(ms)}`);
  if (ms >= 0 && ms !== Number.POSITIVE_INFINITY) return undefined;
  return new RangeError(`pause() takes a non-negative finite number of ms, received ${formatValue(ms)}`);
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
    throw new TypeError(`options must be an object, received ${formatValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'signal' && key !== 'maxWait') {
      throw new TypeError(`Unknown getToken() option ${formatValue(key)}; known options: signal, maxWait`);
    }
  }
  const signal = ownOption(options, 'signal');
  const maxWait = ownOption(options, 'maxWait');
  let aborted = false;
  if (signal !== undefined) {
    if (!isAbortSignal(signal)) throw new TypeError(`signal must be an AbortSignal, received ${formatValue(signal)}`);
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
