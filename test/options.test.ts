import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter, TimerTokenBucketFilter, type TokenBucketOptions } from '../src/index.js';

// Rows: [options, error class, text the message must contain]
const invalid: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
  [undefined, TypeError, 'options must be an object, received undefined'],
  [{}, TypeError, 'capacity must be a number, received undefined'],
  [{ capacity: '5' }, TypeError, 'capacity must be a number, received "5"'],
  [{ capacity: 0 }, RangeError, 'capacity must be a positive safe integer, received 0'],
  [{ capacity: 1.5 }, RangeError, 'received 1.5'],
  [{ capacity: 2 ** 53 }, RangeError, 'received 9007199254740992'],
  [{ capacity: Number.POSITIVE_INFINITY }, RangeError, 'received Infinity'],
  [{ capacity: 1, refillTokens: 0 }, RangeError, 'refillTokens must be a positive safe integer, received 0'],
  [{ capacity: 1, refillTokens: null }, TypeError, 'refillTokens must be a number, received null'],
  [
    { capacity: 1, refillInterval: 0 },
    RangeError,
    'refillInterval must be a number of ms from 0.001 (1 µs) to 2^42 (about 139 years), received 0',
  ],
  [{ capacity: 1, refillInterval: Number.NaN }, RangeError, 'received NaN'],
  [{ capacity: 1, refillInterval: Number.POSITIVE_INFINITY }, RangeError, 'received Infinity'],
  [{ capacity: 1, refillInterval: '1s' }, TypeError, 'refillInterval must be a number, received "1s"'],
  [
    { capacity: 3, initialTokens: 4 },
    RangeError,
    'initialTokens must be an integer from 0 to capacity (3), received 4',
  ],
  [{ capacity: 3, initialTokens: -1 }, RangeError, 'received -1'],
  [{ capacity: 3, initialTokens: 0.5 }, RangeError, 'received 0.5'],
  [{ capacity: 3, clock: {} }, TypeError, 'clock must have performance.now()'],
  [{ capacity: 3, clock: null }, TypeError, 'received null'],
  [{ capacity: 3, refilInterval: 10 }, TypeError, 'Unknown option "refilInterval"'],
  [{ capacity: 3, kind: 'timer' }, TypeError, 'kind "timer" does not match this lazy bucket\'s class'],
];

describe('option validation', () => {
  it.each(invalid)('%j throws %o naming the option and value', (options, errorClass, message) => {
    expect(() => new LazyTokenBucketFilter(options as TokenBucketOptions)).toThrow(errorClass);
    expect(() => new LazyTokenBucketFilter(options as TokenBucketOptions)).toThrow(message);
  });

  it('fills in the defaults: 1 token per 1000 ms, starting full', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 4 });
    expect(bucket.capacity).toBe(4);
    expect(bucket.available).toBe(4);
    expect(bucket.waitTime(4)).toBe(0);
    bucket.tryGetToken(4);
    expect(bucket.waitTime(1)).toBeGreaterThan(990);
    expect(bucket.waitTime(1)).toBeLessThanOrEqual(1000);
    bucket.close();
  });

  it('accepts undefined for optional options and refillTokens above capacity', () => {
    const bucket = new TimerTokenBucketFilter({
      capacity: 2,
      refillTokens: 5,
      refillInterval: undefined,
      initialTokens: undefined,
      clock: undefined,
    });
    expect(bucket.available).toBe(2);
    bucket.close();
  });
});
