import FakeTimers from '@sinonjs/fake-timers';
import { describe, expectTypeOf, it } from 'vitest';
import {
  LazyTokenBucketFilter,
  TimerTokenBucketFilter,
  TokenBucketFilterFactory,
  type Clock,
  type GetTokenOptions,
  type MultiLimitFilterOptions,
  type ReconfigurableTokenBucketFilter,
  type TokenBucketFilter,
  type TokenBucketFilterKind,
  type TokenBucketFilterOptions,
  type TokenBucketStats,
} from '../src/index.js';
import type { AbortSignalShape } from '../src/types/platform.js';

describe('types', () => {
  it('accepts globalThis, a fake-timers clock and a hand-written object as the clock', () => {
    expectTypeOf(globalThis).toExtend<Clock>();
    expectTypeOf(FakeTimers.createClock()).toExtend<Clock>();
    expectTypeOf(FakeTimers.install()).toExtend<Clock>();
    const handWritten = {
      performance: { now: () => 0 },
      setTimeout: (callback: () => void, ms: number) => ms + callback.length,
      clearTimeout: (handle: number) => {
        if (handle < 0) throw new RangeError('no such timer');
      },
      setInterval: (callback: () => void, ms: number) => ms + callback.length,
      clearInterval: (handle: number) => {
        if (handle < 0) throw new RangeError('no such timer');
      },
    };
    expectTypeOf(handWritten).toExtend<Clock>();
    expectTypeOf({ performance: { now: () => 0 } }).not.toExtend<Clock>();
  });

  it('every async method returns a Promise; sync ones do not', () => {
    expectTypeOf<TokenBucketFilter['getToken']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<TokenBucketFilter['tryGetToken']>().returns.toEqualTypeOf<boolean>();
    expectTypeOf<TokenBucketFilter['waitTime']>().returns.toEqualTypeOf<number>();
    expectTypeOf<TokenBucketFilter['close']>().returns.toBeVoid();
    expectTypeOf<TokenBucketFilter>().toExtend<Disposable>();
  });

  it('accepts a real AbortSignal, which also fits the stand-in used where no AbortSignal type exists', () => {
    expectTypeOf<AbortSignal>().toExtend<NonNullable<GetTokenOptions['signal']>>();
    expectTypeOf<AbortSignal>().toExtend<AbortSignalShape>();
    expectTypeOf<NonNullable<GetTokenOptions['signal']>>().toEqualTypeOf<AbortSignal>();
  });

  it('the factory returns the class of the kind asked for', () => {
    expectTypeOf(TokenBucketFilterFactory.create({ capacity: 1 })).toEqualTypeOf<LazyTokenBucketFilter>();
    expectTypeOf(TokenBucketFilterFactory.create({ capacity: 1, kind: 'lazy' })).toEqualTypeOf<LazyTokenBucketFilter>();
    expectTypeOf(
      TokenBucketFilterFactory.create({ capacity: 1, kind: 'timer' }),
    ).toEqualTypeOf<TimerTokenBucketFilter>();
    expectTypeOf(
      TokenBucketFilterFactory.create({ limits: [{ capacity: 1 }], kind: 'timer' }),
    ).toEqualTypeOf<TimerTokenBucketFilter>();
  });

  // Regression: a kind held in a variable gave plain TokenBucketFilter, without reconfigure() and stats().
  it('a kind known only as lazy | timer gives either class, both with reconfigure() and stats()', () => {
    const kind = 'timer' as TokenBucketFilterKind;
    const either = TokenBucketFilterFactory.create({ capacity: 1, kind });
    expectTypeOf(either).toEqualTypeOf<LazyTokenBucketFilter | TimerTokenBucketFilter>();
    expectTypeOf(either).toExtend<ReconfigurableTokenBucketFilter>();
    expectTypeOf(either).toHaveProperty('reconfigure').toBeCallableWith({ capacity: 2 });
    expectTypeOf(either).toHaveProperty('stats').returns.toEqualTypeOf<TokenBucketStats>();
    const options: TokenBucketFilterOptions = { capacity: 1 };
    expectTypeOf(TokenBucketFilterFactory.create(options)).toEqualTypeOf<
      LazyTokenBucketFilter | TimerTokenBucketFilter
    >();
    const multi: MultiLimitFilterOptions = { limits: [{ capacity: 1 }] };
    expectTypeOf(TokenBucketFilterFactory.create(multi)).toEqualTypeOf<
      LazyTokenBucketFilter | TimerTokenBucketFilter
    >();
  });

  // Regression: `limits` beside a single-limit option type-checked, and failed only at run time.
  it('limits cannot be combined with capacity, refillTokens, refillInterval or initialTokens', () => {
    const limits = [{ capacity: 10 }];
    // @ts-expect-error capacity beside limits
    new LazyTokenBucketFilter({ limits, capacity: 5 });
    // @ts-expect-error refillTokens beside limits
    new TimerTokenBucketFilter({ limits, refillTokens: 5 });
    // @ts-expect-error refillInterval beside limits
    TokenBucketFilterFactory.create({ limits, refillInterval: 5 });
    // @ts-expect-error initialTokens beside limits
    TokenBucketFilterFactory.create({ limits, initialTokens: 5, kind: 'timer' });
    // @ts-expect-error capacity beside limits, in a keyed bucket
    TokenBucketFilterFactory.createKeyed({ limits, capacity: 5 });
    const bucket = new LazyTokenBucketFilter({ limits });
    // @ts-expect-error capacity beside limits, in reconfigure()
    bucket.reconfigure({ limits, capacity: 5 });
    // Either alone is fine.
    expectTypeOf(TokenBucketFilterFactory.create).toBeCallableWith({ limits, kind: 'timer' });
    expectTypeOf(TokenBucketFilterFactory.create).toBeCallableWith({ capacity: 5, initialTokens: 0 });
    expectTypeOf(bucket).toHaveProperty('reconfigure').toBeCallableWith({ limits });
    expectTypeOf(bucket).toHaveProperty('reconfigure').toBeCallableWith({ refillTokens: 5 });
  });

  it('the public state is read-only', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 1 });
    // @ts-expect-error capacity is read-only
    bucket.capacity = 2;
    // @ts-expect-error available is read-only
    bucket.available = 2;
  });
});
