import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock, flushPromises, track } from './support/clock.js';
import { implementations } from './support/implementations.js';

describe.each(implementations)('%s with one long-lived AbortSignal', (_name, create) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('100,000 sequential granted calls leave no listener behind', async () => {
    const clock = createFakeClock();
    const bucket = create({ capacity: 1000, refillTokens: 1000, refillInterval: 1, initialTokens: 0, clock });
    const { signal } = new AbortController();
    for (let i = 0; i < 100_000; i += 1) {
      const granted = track(bucket.getToken(1, { signal }), clock);
      if (i % 1000 === 999) {
        await clock.tickAsync(1);
        expect(granted.state).toBe('granted');
      }
    }
    await clock.tickAsync(1);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    bucket.close();
    await flushPromises();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('100,000 callers queued at once with the same signal hold one listener, and none once granted', async () => {
    const clock = createFakeClock();
    const bucket = create({ capacity: 1000, refillTokens: 1000, refillInterval: 1, initialTokens: 0, clock });
    const { signal } = new AbortController();
    const outcomes = Array.from({ length: 100_000 }, () => track(bucket.getToken(1, { signal }), clock));
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await clock.tickAsync(100);
    expect(outcomes.every((o) => o.state === 'granted')).toBe(true);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    bucket.close();
    // Node warns asynchronously, on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('aborting the shared signal rejects exactly its callers, in order, and the others move up', async () => {
    const clock = createFakeClock();
    const bucket = create({ capacity: 1, initialTokens: 0, clock });
    const controller = new AbortController();
    const { signal } = controller;
    const rejected: number[] = [];
    const calls = [0, 1, 2, 3, 4].map((i) => {
      const options = i % 2 === 0 ? { signal } : {};
      const call = bucket.getToken(1, options);
      call.catch(() => rejected.push(i));
      return track(call, clock);
    });
    controller.abort(new Error('shutting down'));
    await flushPromises();
    expect(rejected).toEqual([0, 2, 4]);
    expect(calls.filter((c) => c.state === 'rejected').map((c) => (c.error as Error).message)).toEqual([
      'shutting down',
      'shutting down',
      'shutting down',
    ]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await clock.tickAsync(2000);
    expect([calls[1]?.at, calls[3]?.at]).toEqual([1000, 2000]);
    bucket.close();
  });
});
