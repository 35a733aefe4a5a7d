import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { KeyedTokenBucketFilter } from '../src/keyed/KeyedTokenBucketFilter.js';
import { flushPromises, track } from './support/clock.js';

describe('an in-process bucket whose callers wait when the default clock changes under it', () => {
  let installed: ReturnType<typeof FakeTimers.install> | undefined;
  afterEach(() => {
    installed?.uninstall();
    installed = undefined;
  });

  it('re-arms its head timer on fake timers installed after it was created (lazy and one key of a keyed bucket)', async () => {
    const lazy = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 60_000, initialTokens: 0 });
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 1, refillInterval: 60_000, initialTokens: 0 });
    // Queued on real timers: the head timers are real ones, a minute away.
    const lazyGrant = track(lazy.getToken(), globalThis);
    const keyedGrant = track(keyed.getToken('a'), globalThis);
    installed = FakeTimers.install();
    const clock = installed;
    // The first reading under the fake clock re-bases both buckets and moves their timers onto it.
    expect(lazy.pending).toBe(1);
    expect(keyed.pending('a')).toBe(1);
    await clock.tickAsync(60_000);
    await flushPromises();
    expect(lazyGrant.state).toBe('granted');
    expect(keyedGrant.state).toBe('granted');
    lazy.close();
    keyed.close();
  });
});

describe('a closed in-process bucket', () => {
  it('reports no tokens and nobody waiting, whatever it held', async () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 3, refillInterval: 1000, initialTokens: 1 });
    const waiting = bucket.getToken(3);
    waiting.catch(() => undefined);
    expect([bucket.available, bucket.pending]).toEqual([0, 1]);
    bucket.close();
    expect([bucket.available, bucket.pending]).toEqual([0, 0]);
    const full = new LazyTokenBucketFilter({ capacity: 3 });
    expect(full.available).toBe(3);
    full.close();
    expect(full.available).toBe(0);
    await expect(waiting).rejects.toThrow('closed');
  });
});
