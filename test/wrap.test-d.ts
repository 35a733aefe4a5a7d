import { describe, expectTypeOf, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import type { ReconfigurableTokenBucketFilter, TokenBucketFilter, TokenBucketStats } from '../src/TokenBucketFilter.js';
import { KeyedTokenBucketFilter, type KeyedTokenBucketStats } from '../src/keyed/KeyedTokenBucketFilter.js';
import { TokenBucketFilterFactory } from '../src/TokenBucketFilterFactory.js';
import { wrap } from '../src/wrap.js';

declare const bucket: TokenBucketFilter;

describe('wrap() types', () => {
  it('returns a Promise of the awaited result, for sync and async functions alike (no lying types)', () => {
    const sync = wrap(bucket, (a: number, b: string) => `${a}${b}`);
    expectTypeOf(sync).parameters.toEqualTypeOf<[number, string]>();
    expectTypeOf(sync).returns.toEqualTypeOf<Promise<string>>();
    // eslint-disable-next-line @typescript-eslint/require-await -- the test is about the type of an async function
    const async = wrap(bucket, async (id: number) => ({ id }));
    expectTypeOf(async).returns.toEqualTypeOf<Promise<{ id: number }>>();
    const thenable = wrap(bucket, (): PromiseLike<number> => Promise.resolve(1));
    expectTypeOf(thenable).returns.toEqualTypeOf<Promise<number>>();
    const none = wrap(bucket, () => undefined);
    expectTypeOf(none).returns.toEqualTypeOf<Promise<undefined>>();
  });

  it('keeps optional and rest parameters, and this', () => {
    const optional = wrap(bucket, (a: number, b?: string) => `${a}${b ?? ''}`);
    expectTypeOf(optional).parameters.toEqualTypeOf<[number, (string | undefined)?]>();
    const rest = wrap(bucket, (...xs: number[]) => xs.length);
    expectTypeOf(rest).parameters.toEqualTypeOf<number[]>();
    const method = wrap(bucket, function (this: { factor: number }, n: number) {
      return this.factor * n;
    });
    expectTypeOf(method).thisParameter.toEqualTypeOf<{ factor: number }>();
  });

  it('types cost as a number or a function of the same arguments', () => {
    wrap(bucket, (items: string[]) => items, { cost: (items) => items.length });
    wrap(bucket, (items: string[]) => items, { cost: 3 });
    // @ts-expect-error the cost function takes the wrapped function's arguments
    wrap(bucket, (items: string[]) => items, { cost: (n: number) => n });
    // @ts-expect-error a cost is a number
    wrap(bucket, () => 1, { cost: '3' });
  });
});

describe('keyed, reconfigure and stats types', () => {
  it('lazy and timer buckets are reconfigurable; the base interface is unchanged', () => {
    expectTypeOf<LazyTokenBucketFilter>().toExtend<ReconfigurableTokenBucketFilter>();
    expectTypeOf(
      TokenBucketFilterFactory.create({ capacity: 1, kind: 'timer' }),
    ).toExtend<ReconfigurableTokenBucketFilter>();
    expectTypeOf<TokenBucketFilter>().not.toHaveProperty('reconfigure');
    expectTypeOf<TokenBucketFilter>().not.toHaveProperty('stats');
    expectTypeOf<ReconfigurableTokenBucketFilter['stats']>().returns.toEqualTypeOf<TokenBucketStats>();
  });

  it('a keyed bucket takes keys of its type and returns Promises from getToken only', () => {
    const keyed = TokenBucketFilterFactory.createKeyed<string>({ capacity: 1 });
    expectTypeOf(keyed).toEqualTypeOf<KeyedTokenBucketFilter<string>>();
    expectTypeOf<(typeof keyed)['getToken']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<(typeof keyed)['tryGetToken']>().returns.toEqualTypeOf<boolean>();
    expectTypeOf<(typeof keyed)['waitTime']>().returns.toEqualTypeOf<number>();
    expectTypeOf<(typeof keyed)['stats']>().returns.toEqualTypeOf<KeyedTokenBucketStats>();
    // @ts-expect-error keys are strings
    keyed.tryGetToken(1);
    keyed.close();
  });
});
