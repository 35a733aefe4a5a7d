import { afterEach, describe, expect, it, vi } from 'vitest';
import { LazyTokenBucketFilter } from '../src/index.js';
import { createFakeClock, flushPromises, recordTimers, track } from './support/clock.js';

describe('LazyTokenBucketFilter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sets no timer while tokens suffice', () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 3, clock });
    expect(bucket.tryGetToken(3)).toBe(true);
    void bucket.getToken(0).catch(() => undefined);
    expect(clock.countTimers()).toBe(0);
    bucket.close();
  });

  it('holds one timer at most, whatever the queue length, and none once the queue drains', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1, initialTokens: 0, clock });
    const waiters = Array.from({ length: 1000 }, () => track(bucket.getToken(), clock));
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(500);
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(500);
    expect(waiters.every((w) => w.state === 'granted')).toBe(true);
    expect(clock.countTimers()).toBe(0);
    bucket.close();
  });

  it('the head timer keeps the process alive (somebody waits for it)', () => {
    const { clock, handles } = recordTimers(createFakeClock());
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    bucket.getToken().catch(() => undefined);
    expect(handles.length).toBe(1);
    expect(handles[0]?.hasRef()).toBe(true);
    bucket.close();
  });

  // Regression: a sleeper started behind a promise (for example a mutex acquisition) sets its timer a
  // few microtasks late, so a synchronous `vi.advanceTimersByTime()` right after `getToken()` would
  // find no timer and the caller would hang. The head timer must be set inside the call itself.
  it('grants under a synchronous fake-timer advance made right after getToken()', async () => {
    vi.useFakeTimers();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0 });
    const granted = bucket.getToken();
    vi.advanceTimersByTime(1000);
    await expect(granted).resolves.toBeUndefined();
    bucket.close();
  });

  it('re-arms when a timer fires early', async () => {
    let now = 0;
    const callbacks: Array<() => void> = [];
    const clock = {
      performance: { now: () => now },
      setTimeout: (callback: () => void) => callbacks.push(callback),
      clearTimeout: () => undefined,
      setInterval: () => 0,
      clearInterval: () => undefined,
    };
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    const granted = track(bucket.getToken(), clock);
    now = 999.5; // the timer fires half a millisecond early
    callbacks.shift()?.();
    await flushPromises();
    expect(granted.state).toBe('pending');
    expect(callbacks.length).toBe(1);
    now = 1000;
    callbacks.shift()?.();
    await flushPromises();
    expect(granted).toMatchObject({ state: 'granted', at: 1000 });
    bucket.close();
  });
});
