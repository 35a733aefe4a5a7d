import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter, QueueFullError, wrap } from '../src/index.js';
import type { BucketObserver, RefusalReason } from '../src/types/observer.js';
import { createFakeClock, track } from './support/clock.js';

// wrap() on a bucket with an observer and a maxQueue: the wrapped calls are the bucket's getToken()
// calls, so they report through its observer and its cap refuses them; a call waiting for a
// concurrency slot has not asked the bucket yet, and does not count toward maxQueue.

/** An observer that writes down what it is told, in order. */
function recorder(): { observer: BucketObserver; events: string[] } {
  const events: string[] = [];
  const observer: BucketObserver = {
    granted: (count, waitedMs) => events.push(`granted ${count} after ${waitedMs}`),
    refused: (count, reason: RefusalReason) => events.push(`refused ${count} ${reason}`),
    queued: (count, queueLength) => events.push(`queued ${count} (${queueLength})`),
    aborted: (count) => events.push(`aborted ${count}`),
    closed: (pendingRejected) => events.push(`closed ${pendingRejected}`),
  };
  return { observer, events };
}

describe('wrap() with the bucket options observer and maxQueue', () => {
  it("reports every wrapped call through the bucket's observer, with its wait and cost", async () => {
    const clock = createFakeClock();
    const { observer, events } = recorder();
    const bucket = new LazyTokenBucketFilter({ capacity: 2, refillTokens: 2, refillInterval: 1000, clock, observer });
    const send = wrap(bucket, (items: string[]) => items.length, { cost: (items) => items.length, maxWait: 1500 });
    const first = track(send(['a', 'b']), clock); // granted at once
    const second = track(send(['c']), clock); // queued, due at 1000
    const tooLate = track(send(['d', 'e']), clock); // due at 2000: past maxWait, refused at once
    await clock.tickAsync(1000);
    expect([first.state, second.state, tooLate.state]).toEqual(['granted', 'granted', 'rejected']);
    expect(events).toEqual(['granted 2 after 0', 'queued 1 (1)', 'refused 2 maxWaitExceeded', 'granted 1 after 1000']);
    bucket.close();
    expect(events.at(-1)).toBe('closed 0');
  });

  it('rejects with QueueFullError through wrap, without calling fn, when the queue is full', async () => {
    const clock = createFakeClock();
    const { observer, events } = recorder();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1000, maxQueue: 1, clock, observer });
    let calls = 0;
    const fn = wrap(bucket, () => (calls += 1));
    const granted = track(fn(), clock);
    const queued = track(fn(), clock);
    const refused = fn();
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ queueLength: 1, maxQueue: 1 });
    await clock.tickAsync(1000);
    expect([granted.state, queued.state, calls]).toEqual(['granted', 'granted', 2]);
    expect(events).toContain('refused 1 queueFull');
    expect(bucket.stats()).toMatchObject({ queueFull: 1 });
    bucket.close();
  });

  it('with concurrency: a call waiting for a slot does not count toward maxQueue; one holding a slot does', async () => {
    const clock = createFakeClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillInterval: 1000, maxQueue: 1, clock });
    const running: Array<() => void> = [];
    const fn = wrap(bucket, () => new Promise<void>((resolve) => running.push(resolve)), { concurrency: 3 });
    const a = track(fn(), clock); // slot 1, the token at once: fn runs
    const b = track(fn(), clock); // slot 2, waits in the bucket's queue (1 of maxQueue 1)
    const c = fn(); // slot 3: the bucket's queue is full
    const d = fn(); // no slot free: waits for one, and is not counted
    const e = fn();
    expect(bucket.stats(), 'only c was refused at its call').toMatchObject({ queueFull: 1, pending: 1 });
    await expect(c).rejects.toMatchObject({ name: 'QueueFullError', queueLength: 1, maxQueue: 1 });
    // c freed its slot: d took it, asked the bucket, and was refused the same way; so was e after it.
    await expect(d).rejects.toBeInstanceOf(QueueFullError);
    await expect(e).rejects.toBeInstanceOf(QueueFullError);
    expect(bucket.stats()).toMatchObject({ queueFull: 3, pending: 1 });
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    running.shift()?.(); // a's fn settles
    await clock.tickAsync(1000); // b's token
    expect([a.state, b.state]).toEqual(['granted', 'pending']); // b's fn runs now
    expect(running).toHaveLength(1);
    bucket.close();
  });
});
