import { describe, expect, it } from 'vitest';
import { MaxWaitExceededError } from '../src/errors.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import type { TokenBucketOptions } from '../src/types/options.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';

// pause() on one bucket is in the conformance suite (test/conformance/pauseSuite.ts, which runs on
// the shared entries too); these are the parts across threads.

/** Two instances on one buffer with one fake clock stand for two threads (see shared.test.ts). */
function twoThreads(options: TokenBucketOptions): {
  clock: FakeClock;
  a: SharedTokenBucketFilter;
  b: SharedTokenBucketFilter;
} {
  const clock = createFakeClock();
  const a = new SharedTokenBucketFilter({ ...options, clock });
  const b = SharedTokenBucketFilter.from(structuredClone(a.handle), { clock });
  return { clock, a, b };
}

/** Lets the runtime deliver Atomics.waitAsync wake-ups (a real macrotask; nothing sleeps). */
async function nextMacrotask(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await flushPromises();
}

describe('SharedTokenBucketFilter.pause() across threads', () => {
  it('holds in every thread: nothing granted, and waitTime() counts it', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillInterval: 100 });
    a.pause(500);
    expect(b.tryGetToken()).toBe(false);
    expect(b.available).toBe(0);
    expect(b.waitTime()).toBe(500);
    await clock.tickAsync(500);
    // One refill (1 token) at the end, for both threads together.
    expect(b.tryGetToken()).toBe(true);
    expect(a.tryGetToken()).toBe(false);
    a.close();
  });

  it("re-plans the other thread's queued callers after the pause, in order, before it grants anyone", async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, refillInterval: 1000, initialTokens: 0 });
    const first = track(b.getToken(), clock); // due at 1000
    const second = track(b.getToken(), clock); // due at 2000
    await clock.tickAsync(500);
    a.pause(2000); // until 2500
    await nextMacrotask();
    await clock.tickAsync(2499 - 500);
    expect([first.state, second.state]).toEqual(['pending', 'pending']);
    await clock.tickAsync(1000);
    expect([first.at, second.at]).toEqual([2500, 3000]);
    a.close();
  });

  it('without a wake-up, the other thread still grants nobody before the pause ends', async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, refillInterval: 1000, initialTokens: 0 });
    const waiter = track(b.getToken(), clock); // due at 1000
    await clock.tickAsync(500);
    a.pause(2000);
    // No macrotask: the other thread learns of the pause only when its timer fires at 1000.
    await clock.tickAsync(2000);
    expect(waiter).toMatchObject({ state: 'granted', at: 2500 });
    a.close();
  });

  it("re-checks the other thread's maxWait, counting the pause from each caller's call", async () => {
    const { clock, a, b } = twoThreads({ capacity: 1, refillInterval: 1000, initialTokens: 0 });
    const patient = track(b.getToken(1, { maxWait: 1500 }), clock); // due at 1000
    await clock.tickAsync(200);
    a.pause(2000); // until 2200
    await nextMacrotask();
    await clock.tickAsync(1000);
    expect(patient.state).toBe('rejected');
    expect(patient.error).toBeInstanceOf(MaxWaitExceededError);
    a.close();
  });

  it('extends a pause another thread set, and never shortens it', async () => {
    const { clock, a, b } = twoThreads({ capacity: 2, refillInterval: 100 });
    a.pause(1000);
    await clock.tickAsync(100);
    b.pause(300);
    expect(a.waitTime()).toBe(900);
    b.pause(2000); // until 2100
    expect(a.waitTime()).toBe(2000);
    await clock.tickAsync(2000);
    expect(a.tryGetToken()).toBe(true);
    expect(b.tryGetToken()).toBe(false);
    a.close();
  });

  it('holds through a reconfigure() in another thread, capped at the new refillTokens', async () => {
    const { clock, a, b } = twoThreads({ capacity: 4, refillTokens: 4, refillInterval: 1000 });
    a.pause(500);
    await clock.tickAsync(100);
    b.reconfigure({ capacity: 10, refillTokens: 3 });
    expect(a.tryGetToken()).toBe(false);
    expect(a.waitTime(3)).toBe(400);
    await clock.tickAsync(400);
    expect(b.available).toBe(3);
    a.close();
  });

  it('never lets callers of two threads together take more than one refill when the pause ends', async () => {
    const { clock, a, b } = twoThreads({ capacity: 6, refillTokens: 2, refillInterval: 100 });
    const early = [track(a.getToken(), clock), track(b.getToken(), clock)]; // before the pause: queued
    await flushPromises();
    a.pause(1000);
    await nextMacrotask();
    const late = [a, b, a, b].map((bucket) => track(bucket.getToken(), clock));
    await clock.tickAsync(1200);
    const all = [...early, ...late];
    const grantedBy = (ms: number): number => all.filter((o) => o.state === 'granted' && (o.at ?? 0) <= ms).length;
    // The two callers before the pause were granted at once (the bucket was full).
    expect(early.map((o) => o.at)).toEqual([0, 0]);
    // Then nothing until 1000, one refill (2) then, and 2 per 100 ms after.
    expect([grantedBy(999), grantedBy(1000), grantedBy(1099), grantedBy(1100)]).toEqual([2, 4, 4, 6]);
    a.close();
  });
});
