/**
 * Helpers every options reader shares: own-property reads, defaults, and the formatting of a received
 * value in an error message.
 */

/**
 * Formats a value for an error message: strings in quotes (JSON), bigints with their `n`, objects as
 * "an object" or "an array" (never their contents), everything else as `String()` would.
 */
export function formatValue(value: unknown): string {
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

/** Returns `value` when it is a number; throws a `TypeError` naming option `name` and the value otherwise. */
export function requireNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, received ${formatValue(value)}`);
  }
  return value;
}

/** Returns `value` when it is a positive safe integer; throws `TypeError`/`RangeError` naming `name` otherwise. */
export function positiveSafeInteger(name: string, value: unknown): number {
  const number = requireNumber(name, value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new RangeError(`${name} must be a positive safe integer, received ${formatValue(value)}`);
  }
  return number;
}
