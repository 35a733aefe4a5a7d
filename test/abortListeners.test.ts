import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { suiteTools } from './conformance/suiteTools.js';
import { createFakeClock, track } from './support/clock.js';
import { describeImplementations } from './support/describeImplementations.js';
import { implementations } from './support/implementations.js';

// 100,000 callers a test in process: a few seconds alone, but several times the default 20 s under a
// mutation run's instrumented code on a busy machine (Stryker's dry run timed out here at load 4).
vi.setConfig({ testTimeout: 120_000 });

describeImplementations('abortListeners', implementations, ({ implementation, create, hooks }) => {
  const { it, tick, flush } = suiteTools(hooks);
  // Every Redis call is a round trip: 2,000 callers there show the same (one listener per signal,
  // none left, no warning) as 100,000 in process, where the per-caller cost would show.
  const callers = implementation.surface === 'async' ? 2_000 : 100_000;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it(`${callers} sequential granted calls with one long-lived signal leave no listener behind`, async () => {
    const clock = createFakeClock();
    const bucket = await create({ capacity: 1000, refillTokens: 1000, refillInterval: 1, initialTokens: 0, clock });
    const { signal } = new AbortController();
    for (let i = 0; i < callers; i += 1) {
      const granted = track(bucket.getToken(1, { signal }), clock);
      if (i % 1000 === 999) {
        await tick(clock, 1);
        expect(granted.state).toBe('granted');
      }
    }
    await tick(clock, 1);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    bucket.close();
    await flush();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it(`${callers} callers queued at once with the same signal hold one listener, and none once granted`, async () => {
    const clock = createFakeClock();
    const bucket = await create({ capacity: 1000, refillTokens: 1000, refillInterval: 1, initialTokens: 0, clock });
    const { signal } = new AbortController();
    const outcomes = Array.from({ length: callers }, () => track(bucket.getToken(1, { signal }), clock));
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await tick(clock, 100);
    expect(outcomes.filter((o) => o.state !== 'granted')).toEqual([]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    bucket.close();
    // Node warns asynchronously, on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('aborting the shared signal rejects exactly its callers, in order, and the others move up', async () => {
    const clock = createFakeClock();
    const bucket = await create({ capacity: 1, initialTokens: 0, clock });
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
    await flush();
    expect(rejected).toEqual([0, 2, 4]);
    expect(calls.filter((c) => c.state === 'rejected').map((c) => (c.error as Error).message)).toEqual([
      'shutting down',
      'shutting down',
      'shutting down',
    ]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await tick(clock, 2000);
    expect([calls[1]?.at, calls[3]?.at]).toEqual([1000, 2000]);
    bucket.close();
  });
});
