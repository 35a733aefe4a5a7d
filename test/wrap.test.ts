import { describe, expect, it } from 'vitest';
import { BucketClosedError, MaxWaitExceededError } from '../src/errors.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { wrap } from '../src/wrap.js';
import { createFakeClock, flushPromises, track } from './support/clock.js';

describe('wrap()', () => {
  it('awaits the tokens, then calls fn with the same arguments and this, resolving with its awaited result', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1000, clock });
    const calls: Array<[number, string]> = [];
    // eslint-disable-next-line @typescript-eslint/require-await -- the test is about wrapping an async function
    const add = wrap(bucket, async (a: number, b: string) => {
      calls.push([clock.performance.now(), b]);
      return a + 1;
    });
    const first = add(1, 'x');
    const second = track(add(2, 'y'), clock);
    await expect(first).resolves.toBe(2);
    expect(second.state).toBe('pending');
    await clock.tickAsync(1000);
    expect(second).toMatchObject({ state: 'granted', at: 1000 });
    expect(calls).toEqual([
      [0, 'x'],
      [1000, 'y'],
    ]);
    const object = {
      factor: 3,
      times: wrap(bucket, function (this: { factor: number }, n: number) {
        return this.factor * n;
      }),
    };
    clock.tick(1000);
    await expect(object.times(2)).resolves.toBe(6);
    bucket.close();
  });

  it('takes cost tokens per call: a number, or a function of the arguments', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 10, refillTokens: 10, initialTokens: 10, clock });
    const fixed = wrap(bucket, () => 'ok', { cost: 4 });
    const batch = wrap(bucket, (items: string[]) => items.length, { cost: (items) => items.length });
    await expect(fixed()).resolves.toBe('ok');
    await expect(batch(['a', 'b', 'c'])).resolves.toBe(3);
    expect(bucket.available).toBe(3);
    await expect(batch([])).rejects.toThrow(RangeError); // a cost of 0
    await expect(batch(Array<string>(11).fill('x'))).rejects.toThrow(/capacity \(10\), received 11/);
    bucket.close();
  });

  it('never calls fn unless the tokens were granted, and never throws', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    let called = 0;
    const controller = new AbortController();
    const limited = wrap(bucket, () => (called += 1), { maxWait: 500, signal: controller.signal });
    await expect(limited()).rejects.toThrow(MaxWaitExceededError);
    const throwingCost = wrap(bucket, () => (called += 1), {
      cost: () => {
        throw new Error('bad cost');
      },
    });
    await expect(throwingCost()).rejects.toThrow('bad cost');
    const failing = wrap(bucket, () => {
      throw new Error('fn failed');
    });
    const failed = track(failing(), clock);
    await clock.tickAsync(1000);
    expect((failed.error as Error).message).toBe('fn failed');
    const patient = wrap(bucket, () => (called += 1), { signal: controller.signal });
    const aborted = track(patient(), clock);
    controller.abort(new Error('shutdown'));
    await flushPromises();
    expect((aborted.error as Error).message).toBe('shutdown');
    bucket.close();
    await expect(patient()).rejects.toThrow(); // the signal is aborted
    await expect(wrap(bucket, () => 1)()).rejects.toThrow(BucketClosedError);
    expect(called).toBe(0);
  });

  it('works with a keyed bucket through a token source', async () => {
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, clock: createFakeClock() });
    const forUser = (user: string) =>
      wrap({ getToken: (count, options) => keyed.getToken(user, count, options) }, (n: number) => `${user}:${n}`, {
        maxWait: 0,
      });
    await expect(forUser('alice')(1)).resolves.toBe('alice:1');
    await expect(forUser('bob')(2)).resolves.toBe('bob:2');
    await expect(forUser('alice')(3)).rejects.toThrow(MaxWaitExceededError);
    keyed.close();
  });

  it('takes tokens from the key that key() returns for the call, for a keyed bucket', async () => {
    const clock = createFakeClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, refillInterval: 1000, clock });
    const search = wrap(keyed, (user: string, query: string) => `${user}:${query}`, { key: (user) => user });
    await expect(search('alice', 'a')).resolves.toBe('alice:a');
    await expect(search('bob', 'b')).resolves.toBe('bob:b'); // bob's bucket is his own
    const again = track(search('alice', 'c'), clock);
    expect(keyed.pending('alice')).toBe(1);
    await clock.tickAsync(1000);
    expect(again).toMatchObject({ state: 'granted', at: 1000 });
    const impatient = wrap(keyed, (user: string) => user, { key: (user) => user, maxWait: 0, cost: 1 });
    await expect(impatient('alice')).rejects.toThrow(MaxWaitExceededError);
    const badKey = wrap(keyed, (user: string) => user, {
      key: () => {
        throw new Error('no user');
      },
    });
    await expect(badKey('carol')).rejects.toThrow('no user');
    keyed.close();
  });

  it.each([
    [
      () => wrap(new KeyedTokenBucketFilter({ capacity: 1 }) as never, () => 1),
      TypeError,
      "wrap() of a keyed bucket needs a key option, a function of the call's arguments that returns the key; received undefined",
    ],
    [
      () => wrap(new KeyedTokenBucketFilter({ capacity: 1 }), () => 1, { key: 'alice' as never }),
      TypeError,
      'needs a key option, a function of the call\'s arguments that returns the key; received "alice"',
    ],
    [
      () => wrap(new KeyedTokenBucketFilter({ capacity: 1 }), () => 1, { key: () => 'k', concurrency: 2 as never }),
      TypeError,
      'concurrency cannot be combined with key',
    ],
    [
      () => wrap(new LazyTokenBucketFilter({ capacity: 1 }), () => 1, { key: (() => 'k') as never }),
      TypeError,
      'key applies only to a keyed bucket',
    ],
    [() => wrap(null as never, () => 1), TypeError, 'bucket must have a getToken() method, received null'],
    [() => wrap({ getToken: () => Promise.resolve() }, 5 as never), TypeError, 'fn must be a function, received 5'],
    [
      () => wrap({ getToken: () => Promise.resolve() }, () => 1, { cost: 0 }),
      RangeError,
      'cost must be a positive integer or a function, received 0',
    ],
    [() => wrap({ getToken: () => Promise.resolve() }, () => 1, { cost: '2' as never }), TypeError, 'received "2"'],
  ])('validates its arguments at once (%#)', (call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
  });
});
