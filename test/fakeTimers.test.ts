import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenBucketFilterFactory, type TokenBucketFilterKind } from '../src/index.js';

// The package was imported above, before any fake timers: the default clock must still be the faked
// globalThis, because it is looked up when used, not captured at import.
describe.each<TokenBucketFilterKind>(['lazy', 'timer'])('%s bucket with global fake timers', (kind) => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows vi.useFakeTimers() installed after import', async () => {
    vi.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind });
    const start = performance.now();
    const grants: number[] = [];
    for (let i = 0; i < 3; i += 1) void bucket.getToken().then(() => grants.push(performance.now() - start));
    await vi.advanceTimersByTimeAsync(3000);
    expect(grants).toEqual([1000, 2000, 3000]);
    bucket.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows @sinonjs/fake-timers install() after import', async () => {
    const clock = FakeTimers.install();
    try {
      const bucket = TokenBucketFilterFactory.create({ capacity: 2, refillInterval: 500, initialTokens: 0, kind });
      const granted = bucket.getToken(2);
      await clock.tickAsync(999);
      expect(bucket.pending).toBe(1);
      await clock.tickAsync(1);
      await expect(granted).resolves.toBeUndefined();
      bucket.close();
      expect(clock.countTimers()).toBe(0);
    } finally {
      clock.uninstall();
    }
  });

  it('takes a createClock() clock without touching any global', async () => {
    const clock = FakeTimers.createClock();
    const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind, clock });
    const granted = bucket.getToken();
    await clock.tickAsync(1000);
    await expect(granted).resolves.toBeUndefined();
    bucket.close();
  });
});
