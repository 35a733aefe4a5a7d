import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BucketClosedError, LazyTokenBucketFilter, MaxWaitExceededError } from '../src/index.js';
import { RedisTokenBucketFilter } from '../src/redis/index.js';
import { freePort } from './redis/server.js';
import { createFakeClock, track, type FakeClock } from './support/clock.js';

// A getToken() handed to the `fallback` bucket while Redis is unreachable (a real ioredis client on a
// port nobody listens on, without an offline queue: every call fails at once) is still this bucket's
// caller until it settles: counted in `pending`, rejected by close() and by its signal, and then
// granted nothing by the fallback (issue 11, item 4).
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("RedisTokenBucketFilter: the fallback's calls are its own", () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  async function setup(): Promise<{
    bucket: RedisTokenBucketFilter;
    fallback: LazyTokenBucketFilter;
    fake: FakeClock;
  }> {
    const client = new Redis({
      port: await freePort(),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    client.on('error', () => undefined);
    clients.push(client);
    const fake = createFakeClock();
    // The fallback is empty and refills one token a second on the fake clock: its callers wait.
    const fallback = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 1000, clock: fake });
    const bucket = new RedisTokenBucketFilter({ client, key: 'fallback', capacity: 5, fallback, clock: fake });
    return { bucket, fallback, fake };
  }

  /** Waits (in real time) until the fallback holds `count` waiters: the calls failed and were handed over. */
  async function handedOver(fallback: LazyTokenBucketFilter, count: number): Promise<void> {
    const deadline = performance.now() + 2000;
    while (fallback.pending < count && performance.now() < deadline) await sleep(5);
    expect(fallback.pending).toBe(count);
  }

  it('counts the calls waiting on the fallback in pending, and grants them when the fallback does', async () => {
    const { bucket, fallback, fake } = await setup();
    const first = track(bucket.getToken(), fake);
    const second = track(bucket.getToken(), fake);
    await handedOver(fallback, 2);
    // Regression: pending was 0 once the calls were handed to the fallback.
    expect(bucket.pending).toBe(2);
    await fake.tickAsync(1000);
    expect([first.state, second.state, bucket.pending]).toEqual(['granted', 'pending', 1]);
    await fake.tickAsync(1000);
    expect([second.state, bucket.pending, bucket.stats().granted]).toEqual(['granted', 0, 2]);
    bucket.close();
    fallback.close();
  });

  it('close() rejects the calls waiting on the fallback with BucketClosedError, and the fallback grants them nothing after', async () => {
    const { bucket, fallback, fake } = await setup();
    const waiting = track(bucket.getToken(), fake);
    await handedOver(fallback, 1);
    // Regression: close() left it pending, and the fallback granted it 1 s later.
    bucket.close();
    await fake.tickAsync(0);
    expect(waiting.state).toBe('rejected');
    expect(waiting.error).toBeInstanceOf(BucketClosedError);
    expect([bucket.pending, fallback.pending]).toEqual([0, 0]);
    await fake.tickAsync(1000);
    expect(waiting.state).toBe('rejected');
    expect(fallback.available).toBe(1); // the token it would have had is still there
    fallback.close();
  });

  it("an abort of a call waiting on the fallback rejects it with the signal's reason and takes nothing from the fallback", async () => {
    const { bucket, fallback, fake } = await setup();
    const controller = new AbortController();
    const waiting = track(bucket.getToken(1, { signal: controller.signal }), fake);
    await handedOver(fallback, 1);
    const reason = { why: 'gave up' };
    controller.abort(reason);
    await fake.tickAsync(0);
    expect([waiting.state, waiting.error]).toEqual(['rejected', reason]);
    expect([bucket.pending, fallback.pending]).toEqual([0, 0]);
    await fake.tickAsync(1000);
    expect(fallback.available).toBe(1);
    bucket.close();
    fallback.close();
  });

  it('a refusal of the fallback (its maxWait) rejects the call and leaves pending', async () => {
    const { bucket, fallback, fake } = await setup();
    const refused = bucket.getToken(1, { maxWait: 10 });
    await expect(refused).rejects.toBeInstanceOf(MaxWaitExceededError);
    expect([bucket.pending, fallback.pending]).toEqual([0, 0]);
    await fake.tickAsync(0);
    bucket.close();
    fallback.close();
  });
});
