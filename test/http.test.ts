import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, rateLimitPolicy } from '../src/http/rateLimitHeaders.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import { createFakeClock } from './support/clock.js';

describe('rateLimitPolicy()', () => {
  it.each([
    ['per-client', { capacity: 3, refillTokens: 1, refillInterval: 1000 }, '"per-client";q=3;w=3', 3],
    ['api', { capacity: 10, refillTokens: 10, refillInterval: 1000 }, '"api";q=10;w=1', 1],
    ['defaults', { capacity: 2 }, '"defaults";q=2;w=2', 2],
    ['steps of 500 ms', { capacity: 5, refillTokens: 2, refillInterval: 500 }, '"steps of 500 ms";q=5;w=2', 2], // 1.5 s, up
    ['more than capacity', { capacity: 4, refillTokens: 10, refillInterval: 250 }, '"more than capacity";q=4;w=1', 1],
    ['hourly', { capacity: 1000, refillTokens: 1000, refillInterval: 3_600_000 }, '"hourly";q=1000;w=3600', 3600],
    ['a "quoted" \\ name', { capacity: 1 }, '"a \\"quoted\\" \\\\ name";q=1;w=1', 1],
  ])('%s: %o gives %s', (name, limit, field, window) => {
    expect(rateLimitPolicy(name, limit)).toEqual({ name, quota: limit.capacity, window, field });
  });

  it.each([
    [() => rateLimitPolicy(5 as never, { capacity: 1 }), TypeError, 'name must be a string, received 5'],
    [() => rateLimitPolicy('', { capacity: 1 }), RangeError, 'printable ASCII characters, received ""'],
    [() => rateLimitPolicy('naïve', { capacity: 1 }), RangeError, 'received "naïve"'],
    [() => rateLimitPolicy('a\nb', { capacity: 1 }), RangeError, 'printable ASCII'],
    [() => rateLimitPolicy('x', null as never), TypeError, 'limit must be an object, received null'],
    [() => rateLimitPolicy('x', { capacity: 0 }), RangeError, 'capacity must be a positive safe integer, received 0'],
    [
      () => rateLimitPolicy('x', { capacity: 1, refillTokens: 1.5 }),
      RangeError,
      'refillTokens must be a positive safe integer',
    ],
    [
      () => rateLimitPolicy('x', { capacity: 1, refillInterval: 0 }),
      RangeError,
      'refillInterval must be a positive number of ms, received 0',
    ],
    [
      () => rateLimitPolicy('x', { capacity: 1, refillInterval: '1s' as never }),
      TypeError,
      'refillInterval must be a number, received "1s"',
    ],
    [
      () => rateLimitPolicy('x', { capacity: 1, maxKeys: 10 } as never),
      TypeError,
      'Unknown limit option "maxKeys"; known options: capacity, refillTokens, refillInterval',
    ],
  ])('validates its arguments (%#)', (call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
  });
});

describe('rateLimitHeaders()', () => {
  const limit = { capacity: 3, refillTokens: 1, refillInterval: 1000 };
  const policy = rateLimitPolicy('per-client', limit);

  it('states what is left of a bucket at each instant, from its exact waitTime()', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ ...limit, clock });
    // [at ms, tokens to take first, RateLimit, Retry-After for one token]
    const rows: Array<[number, number, string, string]> = [
      [0, 0, '"per-client";r=3;t=0', '0'],
      [0, 1, '"per-client";r=2;t=1', '0'],
      [0, 2, '"per-client";r=0;t=3', '1'],
      [400, 0, '"per-client";r=0;t=3', '1'], // full at 3000: 2.6 s, rounded up
      [1000, 0, '"per-client";r=1;t=2', '0'],
      [1000, 1, '"per-client";r=0;t=3', '1'],
      [1999, 0, '"per-client";r=0;t=3', '1'], // 1 ms to the next token: rounded up to a second
      [2000, 0, '"per-client";r=1;t=2', '0'],
    ];
    for (const [at, take, expected, retryAfter] of rows) {
      await clock.tickAsync(at - clock.performance.now());
      if (take > 0) expect(bucket.tryGetToken(take), `take ${take} at ${at} ms`).toBe(true);
      expect(rateLimitHeaders(policy, bucket, { retryAfter: true }), `at ${at} ms`).toEqual({
        'RateLimit-Policy': '"per-client";q=3;w=3',
        RateLimit: expected,
        'Retry-After': retryAfter,
      });
    }
    bucket.close();
  });

  it('counts the callers queued ahead, adds Retry-After only when asked, for count tokens', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ ...limit, initialTokens: 0, clock }).start();
    const queued = bucket.getToken(2); // granted at 2000
    expect(rateLimitHeaders(policy, bucket)).toEqual({
      'RateLimit-Policy': '"per-client";q=3;w=3',
      RateLimit: '"per-client";r=0;t=5', // 2 tokens for the queue, then 3 more
    });
    expect(rateLimitHeaders(policy, bucket, { retryAfter: true, count: 3 })['Retry-After']).toBe('5');
    expect(rateLimitHeaders(policy, bucket, { retryAfter: false })).not.toHaveProperty('Retry-After');
    await clock.tickAsync(2000);
    await queued;
    expect(rateLimitHeaders(policy, bucket, { retryAfter: true })).toMatchObject({
      RateLimit: '"per-client";r=0;t=3',
      'Retry-After': '1',
    });
    bucket.close();
  });

  it('a client that waits the Retry-After it was given is never refused for being early', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 2, refillTokens: 1, refillInterval: 750, clock });
    let refusals = 0;
    for (let step = 0; step < 200; step += 1) {
      await clock.tickAsync(37 * (step % 7));
      if (bucket.tryGetToken()) continue;
      refusals += 1;
      const wait = Number(rateLimitHeaders(policy, bucket, { retryAfter: true })['Retry-After']);
      await clock.tickAsync(wait * 1000);
      expect(bucket.tryGetToken(), `retry after ${wait} s at ${clock.performance.now()} ms`).toBe(true);
    }
    expect(refusals).toBeGreaterThan(10);
    bucket.close();
  });

  it('describes one key of a keyed bucket, and creates no bucket for it', () => {
    const clock = createFakeClock();
    const perClient = new KeyedTokenBucketFilter<string>({ ...limit, clock });
    perClient.tryGetToken('alice', 3);
    expect(rateLimitHeaders(policy, perClient, { key: 'alice', retryAfter: true })).toEqual({
      'RateLimit-Policy': '"per-client";q=3;w=3',
      RateLimit: '"per-client";r=0;t=3',
      'Retry-After': '1',
    });
    expect(rateLimitHeaders(policy, perClient, { key: 'bob' }).RateLimit).toBe('"per-client";r=3;t=0');
    expect(perClient.size).toBe(1);
    perClient.close();
  });

  it('never states more than the policy: r is at most q, t counts the policy quota', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 1, clock: createFakeClock() });
    bucket.tryGetToken(8);
    expect(rateLimitHeaders(rateLimitPolicy('small', { capacity: 5 }), bucket).RateLimit).toBe('"small";r=2;t=3');
    bucket.close();
  });

  it.each([
    [
      () => rateLimitHeaders({ field: 'x' } as never, new LazyTokenBucketFilter({ capacity: 1 })),
      TypeError,
      'policy must be made by rateLimitPolicy(), received an object',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), null as never),
      TypeError,
      'options must be an object, received null',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), { retryafter: true } as never),
      TypeError,
      'Unknown rateLimitHeaders() option "retryafter"; known options: key, retryAfter, count',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), { retryAfter: 'yes' as never }),
      TypeError,
      'retryAfter must be a boolean, received "yes"',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), { count: 2 }),
      RangeError,
      'count must not exceed the capacity (1), received 2',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), { count: 0 }),
      RangeError,
      'count must be a positive integer, received 0',
    ],
    [
      () => rateLimitHeaders(policy, new LazyTokenBucketFilter({ capacity: 1 }), { key: 'a' } as never),
      TypeError,
      'key applies only to a keyed bucket (one whose available is a method of the key); received key "a"',
    ],
    [
      () => rateLimitHeaders(policy, new KeyedTokenBucketFilter({ capacity: 1 }) as never),
      TypeError,
      'rateLimitHeaders() of a keyed bucket needs a key option',
    ],
  ])('validates its arguments (%#)', (call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
  });

  it('throws what the bucket throws after close()', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 1 });
    bucket.close();
    expect(() => rateLimitHeaders(policy, bucket)).toThrow('closed');
  });
});
