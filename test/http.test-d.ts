import { describe, expectTypeOf, it } from 'vitest';
import { type RateLimitHeaderFields, rateLimitHeaders, rateLimitPolicy } from '../src/http/rateLimitHeaders.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import type { TokenBucketFilter } from '../src/TokenBucketFilter.js';

declare const bucket: TokenBucketFilter;
declare const perClient: KeyedTokenBucketFilter<string>;

describe('rateLimitHeaders() types', () => {
  const policy = rateLimitPolicy('api', { capacity: 10, refillTokens: 10, refillInterval: 1000 });

  it('returns the fields by name, Retry-After optional', () => {
    expectTypeOf(rateLimitHeaders(policy, bucket)).toEqualTypeOf<RateLimitHeaderFields>();
    expectTypeOf<RateLimitHeaderFields['RateLimit']>().toEqualTypeOf<string>();
    expectTypeOf<RateLimitHeaderFields['Retry-After']>().toEqualTypeOf<string | undefined>();
  });

  it('needs a key of the right type for a keyed bucket, and none for a plain one', () => {
    rateLimitHeaders(policy, perClient, { key: 'alice', retryAfter: true, count: 2 });
    // @ts-expect-error a keyed bucket needs its key
    rateLimitHeaders(policy, perClient);
    // @ts-expect-error keys are strings
    rateLimitHeaders(policy, perClient, { key: 1 });
    // @ts-expect-error a plain bucket has no key
    rateLimitHeaders(policy, bucket, { key: 'alice' });
    // @ts-expect-error the limit takes capacity, refillTokens and refillInterval only
    rateLimitPolicy('api', { capacity: 1, maxKeys: 10 });
  });
});
