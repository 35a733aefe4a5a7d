import { describe, expectTypeOf, it } from 'vitest';
import {
  KeyedTokenBucketFilter,
  LazyTokenBucketFilter,
  TokenBucketFilterFactory,
  type BucketObserver,
  type KeyedTokenBucketOptions,
  type RefusalReason,
  type TokenBucketOptions,
} from '../src/index.js';
import type { RedisKeyedTokenBucketOptions } from '../src/redis/index.js';

describe('observer types', () => {
  it("types each method's arguments, and the key of a keyed bucket by its key type", () => {
    new LazyTokenBucketFilter({
      capacity: 1,
      observer: {
        granted: (count, waitedMs) => {
          expectTypeOf(count).toEqualTypeOf<number>();
          expectTypeOf(waitedMs).toEqualTypeOf<number>();
        },
        refused: (_count, reason) => expectTypeOf(reason).toEqualTypeOf<RefusalReason>(),
      },
    }).close();
    new KeyedTokenBucketFilter<{ id: number }>({
      capacity: 1,
      observer: { queued: (_count, _queueLength, key) => expectTypeOf(key).toEqualTypeOf<{ id: number }>() },
    }).close();
    TokenBucketFilterFactory.createKeyed<string>({
      capacity: 1,
      observer: { aborted: (_count, _waitedMs, reason, key) => [expectTypeOf(reason).toBeUnknown(), key.length] },
    }).close();
    expectTypeOf<NonNullable<RedisKeyedTokenBucketOptions['observer']>>().toEqualTypeOf<BucketObserver<string>>();
  });

  it('refuses what is not an observer, and a keyed observer on a bucket of its own', () => {
    // @ts-expect-error -- granted must be a function
    const notAFunction: TokenBucketOptions = { capacity: 1, observer: { granted: 5 } };
    const keyTyped: TokenBucketOptions = {
      capacity: 1,
      // @ts-expect-error -- a key-typed method where the bucket passes none
      observer: { granted: (_c: number, _w: number, key: string) => key },
    };
    // @ts-expect-error -- maxQueue is a number
    const badCap: KeyedTokenBucketOptions = { capacity: 1, maxQueue: '5' };
    expectTypeOf([notAFunction, keyTyped, badCap]).toBeArray();
  });
});
