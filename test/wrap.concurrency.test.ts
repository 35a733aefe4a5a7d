import { afterEach, describe, expect, it, vi } from 'vitest';
import { BucketClosedError, MaxWaitExceededError } from '../src/errors.js';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { wrap } from '../src/wrap.js';
import { breakableClock, createFakeClock, type FakeClock, flushPromises, track } from './support/clock.js';

/** A function whose calls run until the fake clock reaches `ms` after their start; records each start. */
function slowTask(clock: FakeClock, ms: number) {
  const starts: Array<[string, number]> = [];
  let running = 0;
  let mostRunning = 0;
  const task = (id: string) => {
    starts.push([id, clock.performance.now()]);
    running += 1;
    mostRunning = Math.max(mostRunning, running);
    return new Promise<string>((resolve) => {
      clock.setTimeout(() => {
        running -= 1;
        resolve(id);
      }, ms);
    });
  };
  return { task, starts, mostRunning: () => mostRunning };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('wrap() with concurrency', () => {
  it('runs at most n calls at once, started in call order', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 100, refillTokens: 100, clock });
    const { task, starts, mostRunning } = slowTask(clock, 100);
    const limited = wrap(bucket, task, { concurrency: 2 });
    const results = Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => limited(id)));
    await clock.tickAsync(1000);
    await expect(results).resolves.toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(starts).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 100],
      ['d', 100],
      ['e', 200],
    ]);
    expect(mostRunning()).toBe(2);
    expect(bucket.available).toBe(100); // 5 taken, refilled at 1000
    bucket.close();
  });

  it('waits for a slot first and takes no tokens meanwhile; then its tokens, on the bucket schedule', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1000, clock });
    const { task, starts } = slowTask(clock, 5000);
    const limited = wrap(bucket, task, { concurrency: 1 });
    void limited('a'); // takes the token at 0 and runs until 5000
    const second = track(limited('b'), clock);
    await clock.tickAsync(2000);
    // b waits for the slot and holds no token: the refilled one is still there for others.
    expect(bucket.available).toBe(1);
    expect(bucket.pending).toBe(0);
    expect(bucket.tryGetToken()).toBe(true);
    await clock.tickAsync(3000); // a ends at 5000; the bucket has had a token again since 3000
    expect(starts).toEqual([
      ['a', 0],
      ['b', 5000],
    ]);
    await clock.tickAsync(5000);
    expect(second).toMatchObject({ state: 'granted', at: 10_000 });
    bucket.close();
  });

  it('keeps one FIFO order: slot holders waiting for tokens are the earliest callers', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 1000, clock });
    const order: Array<[number, number]> = [];
    const limited = wrap(bucket, (id: number) => order.push([id, clock.performance.now()]), { concurrency: 2 });
    const calls = [1, 2, 3, 4, 5].map((id) => limited(id));
    expect(bucket.pending).toBe(2); // two slots, each waiting for a token; three wait for a slot
    await clock.tickAsync(5000);
    await Promise.all(calls);
    expect(order).toEqual([
      [1, 1000],
      [2, 2000],
      [3, 3000],
      [4, 4000],
      [5, 5000],
    ]);
    bucket.close();
  });

  it('frees the slot of a call whose fn throws, whose promise rejects, or whose getToken rejects', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 3, clock });
    const limited = wrap(
      bucket,
      (kind: string) => {
        if (kind === 'throw') throw new Error('thrown');
        if (kind === 'reject') return Promise.reject(new Error('rejected'));
        return kind;
      },
      { concurrency: 1, cost: (kind) => (kind === 'too big' ? 4 : 1) },
    );
    const outcomes = await Promise.allSettled([limited('too big'), limited('throw'), limited('reject'), limited('ok')]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      'count must not exceed the capacity (3), received 4',
      'thrown',
      'rejected',
      'ok',
    ]);
    bucket.close();
  });

  it('rejects a queued call whose cost the bucket cannot grant at once, not when its slot comes', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 2, clock });
    const { task } = slowTask(clock, 1000);
    const limited = wrap(bucket, task, { concurrency: 1, cost: (id) => (id === 'big' ? 3 : 1) });
    void limited('a');
    const big = track(limited('big'), clock);
    await flushPromises();
    expect(big).toMatchObject({ state: 'rejected', at: 0 });
    expect((big.error as Error).message).toBe('count must not exceed the capacity (2), received 3');
    await clock.tickAsync(1000);
    bucket.close();
  });

  it('counts maxWait from the call: a call still waiting for a slot rejects when it runs out', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 10, clock });
    const { task } = slowTask(clock, 5000);
    const limited = wrap(bucket, task, { concurrency: 1, maxWait: 1000, clock });
    void limited('a');
    const b = track(limited('b'), clock);
    await clock.tickAsync(500);
    const c = track(limited('c'), clock);
    await clock.tickAsync(499);
    expect(b.state).toBe('pending');
    await clock.tickAsync(1);
    expect(b).toMatchObject({ state: 'rejected', at: 1000 });
    expect(b.error).toBeInstanceOf(MaxWaitExceededError);
    expect(b.error).toMatchObject({ waitTime: 1000, maxWait: 1000 });
    expect((b.error as Error).message).toBe(
      'No concurrency slot came free within maxWait (1000 ms): 1 calls in flight',
    );
    expect(c.state).toBe('pending');
    await clock.tickAsync(500);
    expect(c).toMatchObject({ state: 'rejected', at: 1500 });
    expect(clock.countTimers()).toBe(1); // a's own timer only: no maxWait timer is left
    bucket.close();
  });

  it('gives the bucket what is left of maxWait once the call has its slot', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1000, clock });
    let first = true;
    const limited = wrap(
      bucket,
      () => {
        if (!first) return clock.performance.now();
        first = false;
        return new Promise<number>((resolve) => clock.setTimeout(() => resolve(600), 600));
      },
      { concurrency: 1, maxWait: 1500, clock },
    );
    const a = track(limited(), clock); // token at 0, runs until 600
    const b = track(limited(), clock); // slot at 600, token at 1000: 1000 ms after its call, within maxWait
    const c = track(limited(), clock); // slot at 1000, 500 ms of maxWait left, token at 2000: known at once
    await clock.tickAsync(1000);
    expect(a).toMatchObject({ state: 'granted', at: 600 });
    expect(b).toMatchObject({ state: 'granted', at: 1000 });
    expect(c).toMatchObject({ state: 'rejected', at: 1000 });
    expect((c.error as MaxWaitExceededError).message).toBe(
      'The tokens would be granted in 1000 ms, later than maxWait (500 ms)',
    );
    expect(bucket.available).toBe(0);
    bucket.close();
  });

  it('with maxWait 0 rejects at once when no slot is free', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 10, clock });
    const { task } = slowTask(clock, 100);
    const limited = wrap(bucket, task, { concurrency: 1, maxWait: 0, clock });
    void limited('a');
    await expect(limited('b')).rejects.toMatchObject({ name: 'MaxWaitExceededError', waitTime: 0, maxWait: 0 });
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(100);
    const c = track(limited('c'), clock); // a slot is free again
    await clock.tickAsync(100);
    expect(c).toMatchObject({ state: 'granted', at: 200 });
    bucket.close();
  });

  it('an abort rejects every call waiting for a slot at once, with one listener on the signal while they wait', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 10, clock });
    const controller = new AbortController();
    let listeners = 0;
    const signal = new Proxy(controller.signal, {
      get(target, property) {
        if (property === 'addEventListener') {
          return (...args: Parameters<AbortSignal['addEventListener']>) => {
            listeners += 1;
            target.addEventListener(...args);
          };
        }
        if (property === 'removeEventListener') {
          return (...args: Parameters<AbortSignal['removeEventListener']>) => {
            listeners -= 1;
            target.removeEventListener(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const { task } = slowTask(clock, 1000);
    const limited = wrap(bucket, task, { concurrency: 1, signal });
    const running = track(limited('running'), clock);
    const waiting = Array.from({ length: 1000 }, (_, i) => track(limited(`w${i}`), clock));
    expect(listeners).toBe(1);
    controller.abort(new Error('shutdown'));
    await flushPromises();
    expect(listeners).toBe(0);
    expect(waiting.every((o) => o.state === 'rejected' && (o.error as Error).message === 'shutdown')).toBe(true);
    await expect(limited('later')).rejects.toThrow('shutdown');
    await clock.tickAsync(1000);
    expect(running.state).toBe('granted'); // a call already running fn runs on
    bucket.close();
  });

  it('close() of the bucket rejects the calls that wait and frees their slots', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    const limited = wrap(bucket, () => 'ran', { concurrency: 1 });
    const calls = Promise.allSettled([limited(), limited(), limited()]);
    bucket.close();
    const outcomes = await calls;
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof BucketClosedError)).toBe(true);
  });

  it('serves 100,000 queued calls in order', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 100_000, clock });
    let last = -1;
    let outOfOrder = 0;
    const limited = wrap(
      bucket,
      (i: number) => {
        if (i !== last + 1) outOfOrder += 1;
        last = i;
      },
      { concurrency: 3 },
    );
    await Promise.all(Array.from({ length: 100_000 }, (_, i) => limited(i)));
    expect(last).toBe(99_999);
    expect(outOfOrder).toBe(0);
    bucket.close();
  });

  it('follows fake timers installed after the import (the default clock is looked up when used)', async () => {
    vi.useFakeTimers();
    const bucket = new LazyTokenBucketFilter({ capacity: 10 });
    const limited = wrap(bucket, () => new Promise((resolve) => setTimeout(resolve, 5000)), {
      concurrency: 1,
      maxWait: 1000,
    });
    void limited();
    const waiting = limited();
    const outcome = expect(waiting).rejects.toThrow(MaxWaitExceededError);
    await vi.advanceTimersByTimeAsync(1000);
    await outcome;
    await vi.advanceTimersByTimeAsync(4000);
    bucket.close();
  });

  it.each([
    [{ concurrency: 0 }, RangeError, 'concurrency must be a positive integer or Infinity, received 0'],
    [{ concurrency: 1.5 }, RangeError, 'received 1.5'],
    [{ concurrency: -Infinity }, RangeError, 'received -Infinity'],
    [{ concurrency: '2' }, TypeError, 'concurrency must be a positive integer or Infinity, received "2"'],
    [{ clock: createFakeClock() }, TypeError, 'clock is used only with concurrency'],
    [
      { concurrency: 2, clock: {} },
      TypeError,
      'clock must have performance.now(), setTimeout, clearTimeout, received an object',
    ],
    [
      { concurrency: 2, limit: 1 },
      TypeError,
      'Unknown wrap() option "limit"; known options: cost, maxWait, signal, concurrency, clock, key',
    ],
  ])('validates concurrency and clock at once (%#)', (options, errorClass, message) => {
    const bucket = new LazyTokenBucketFilter({ capacity: 1 });
    const call = () => wrap(bucket, () => 1, options as never);
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
    bucket.close();
  });

  it('takes concurrency: Infinity as no cap', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 3, clock });
    const { task, mostRunning } = slowTask(clock, 100);
    const limited = wrap(bucket, task, { concurrency: Infinity });
    const all = Promise.all([limited('a'), limited('b'), limited('c')]);
    await clock.tickAsync(100);
    await all;
    expect(mostRunning()).toBe(3);
    bucket.close();
  });

  describe('hostile inputs', () => {
    it('a token source whose getToken() throws rejects the call with it and frees the slot', async () => {
      let calls = 0;
      const source = {
        getToken: () => {
          calls += 1;
          if (calls === 1) throw new Error('source broke');
          return Promise.resolve();
        },
      };
      const limited = wrap(source, () => 'ran', { concurrency: 1 });
      const outcomes = await Promise.allSettled([limited(), limited()]);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
        'source broke',
        'ran',
      ]);
    });

    it('a signal whose addEventListener throws rejects the queued call with it, registering nothing', async () => {
      const clock = createFakeClock();
      const bucket = new LazyTokenBucketFilter({ capacity: 10, clock });
      const signal = {
        aborted: false,
        reason: undefined,
        addEventListener: () => {
          throw new Error('no listeners here');
        },
        removeEventListener: () => undefined,
      };
      const { task } = slowTask(clock, 100);
      const limited = wrap(bucket, task, { concurrency: 1, maxWait: 1000, signal: signal as never, clock });
      const running = limited('a');
      await expect(limited('b')).rejects.toThrow('no listeners here');
      await clock.tickAsync(100);
      await expect(running).resolves.toBe('a');
      expect(clock.countTimers()).toBe(0); // the maxWait timer set for b was cancelled
      bucket.close();
    });

    it('a clock that gives invalid readings: the queued call rejects with InvalidClockReadingError, the slot timer retries', async () => {
      const { clock, fake, breakWith, mend } = breakableClock();
      const bucket = new LazyTokenBucketFilter({ capacity: 10, clock: fake });
      const { task } = slowTask(fake, 5000);
      const limited = wrap(bucket, task, { concurrency: 1, maxWait: 1000, clock });
      void limited('a');
      breakWith(Number.NaN);
      await expect(limited('refused')).rejects.toMatchObject({ name: 'InvalidClockReadingError' });
      mend();
      const waiting = track(limited('b'), fake);
      breakWith(Number.NaN);
      await fake.tickAsync(1003); // the timer wakes at 1000 on a NaN, and retries after 1, then 2 ms
      expect(waiting.state).toBe('pending');
      mend();
      await fake.tickAsync(4);
      expect(waiting).toMatchObject({ state: 'rejected', at: 1007 });
      expect(waiting.error).toBeInstanceOf(MaxWaitExceededError);
      await fake.tickAsync(5000);
      bucket.close();
    });

    it('a slot freed while the clock reads NaN rejects its call with InvalidClockReadingError and moves on', async () => {
      const { clock, fake, breakWith, mend } = breakableClock();
      const bucket = new LazyTokenBucketFilter({ capacity: 10, clock: fake });
      const { task } = slowTask(fake, 100);
      const limited = wrap(bucket, task, { concurrency: 1, maxWait: 1000, clock });
      void limited('a');
      const b = track(limited('b'), fake);
      const c = track(limited('c'), fake);
      breakWith(Number.NaN);
      await fake.tickAsync(100);
      expect(b).toMatchObject({ state: 'rejected' });
      expect(b.error).toMatchObject({ name: 'InvalidClockReadingError' });
      // c gets the slot b freed, in the same instant, on the same broken clock.
      expect(c.error).toMatchObject({ name: 'InvalidClockReadingError' });
      mend();
      const d = track(limited('d'), fake);
      await fake.tickAsync(100);
      expect(d).toMatchObject({ state: 'granted', at: 200 });
      bucket.close();
    });
  });
});
