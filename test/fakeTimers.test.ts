import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, expect, vi } from 'vitest';
import { suiteTools } from './conformance/suiteTools.js';
import { flushPromises } from './support/clock.js';
import { describeImplementations } from './support/describeImplementations.js';
import { implementations } from './support/implementations.js';

// The package was imported above, before any fake timers: the default clock must still be the faked
// globalThis, because it is looked up when used, not captured at import. No entry gets a clock here
// but the last test's.
describeImplementations('fakeTimers', implementations, ({ create, hooks }) => {
  const { it } = suiteTools(hooks);
  /** Lets real I/O (a Redis round trip) finish; nothing for in-process buckets. */
  const settle = async (): Promise<void> => {
    await flushPromises();
    await hooks.settle?.();
    await flushPromises();
  };

  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows vi.useFakeTimers() installed after import', async () => {
    vi.useFakeTimers();
    const bucket = await create({ capacity: 1, initialTokens: 0 });
    const start = performance.now();
    const grants: number[] = [];
    for (let i = 0; i < 3; i += 1) void bucket.getToken().then(() => grants.push(performance.now() - start));
    for (let ms = 0; ms < 3000; ms += 500) {
      await settle();
      await vi.advanceTimersByTimeAsync(500);
    }
    await settle();
    expect(grants).toEqual([1000, 2000, 3000]);
    bucket.close();
    await settle();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows @sinonjs/fake-timers install() after import', async () => {
    const clock = FakeTimers.install();
    try {
      const bucket = await create({ capacity: 2, refillInterval: 500, initialTokens: 0 });
      const granted = bucket.getToken(2);
      await settle();
      await clock.tickAsync(999);
      await settle();
      expect(bucket.pending).toBe(1);
      await clock.tickAsync(1);
      await settle();
      await expect(granted).resolves.toBeUndefined();
      bucket.close();
      await settle();
      expect(clock.countTimers()).toBe(0);
    } finally {
      clock.uninstall();
    }
  });

  it('takes a createClock() clock without touching any global', async () => {
    const clock = FakeTimers.createClock();
    const bucket = await create({ capacity: 1, initialTokens: 0, clock });
    const granted = bucket.getToken();
    await settle();
    await clock.tickAsync(1000);
    await settle();
    await expect(granted).resolves.toBeUndefined();
    bucket.close();
  });
});
