import { describe, expectTypeOf, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import type { ReconfigurableTokenBucketFilter, TokenBucketFilter } from '../src/TokenBucketFilter.js';
import type { TokenBucketStats } from '../src/types/stats.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import type { KeyedTokenBucketStats } from '../src/keyed/keyedTypes.js';
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

describe('wrap() options: concurrency, clock and key', () => {
  it('takes concurrency and clock for a plain bucket, and no key', () => {
    const limited = wrap(bucket, (id: number) => id, { concurrency: 4, maxWait: 100, clock: globalThis });
    expectTypeOf(limited).returns.toEqualTypeOf<Promise<number>>();
    // @ts-expect-error concurrency is a number
    wrap(bucket, () => 1, { concurrency: '4' });
    // @ts-expect-error key is for keyed buckets only
    wrap(bucket, (id: number) => id, { key: (id: number) => id });
  });

  it('needs a key of the keyed bucket type, from the same arguments, for a keyed bucket', () => {
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1 });
    const search = wrap(keyed, (user: string, query: string) => ({ user, query }), { key: (user) => user });
    expectTypeOf(search).parameters.toEqualTypeOf<[string, string]>();
    expectTypeOf(search).returns.toEqualTypeOf<Promise<{ user: string; query: string }>>();
    wrap(keyed, (user: string) => user, { key: (user) => user, cost: 2, maxWait: 10 });
    // @ts-expect-error a keyed bucket needs a key
    wrap(keyed, (user: string) => user);
    // @ts-expect-error the key is a string for this bucket
    wrap(keyed, (id: number) => id, { key: (id) => id });
    // @ts-expect-error no concurrency with a key
    wrap(keyed, (user: string) => user, { key: (user) => user, concurrency: 2 });
    keyed.close();
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
