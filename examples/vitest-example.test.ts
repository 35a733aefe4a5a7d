import { afterEach, expect, it, vi } from 'vitest';
import { TokenBucketFilterFactory } from 'token-bucket-filter';

afterEach(() => {
  vi.useRealTimers();
});

it('sends at most one request per second', async () => {
  vi.useFakeTimers();
  const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0 });
  const sent: number[] = [];
  const send = async (id: number) => {
    await bucket.getToken();
    sent.push(id);
  };
  void send(1);
  void send(2);
  await vi.advanceTimersByTimeAsync(1000);
  expect(sent).toEqual([1]);
  await vi.advanceTimersByTimeAsync(1000);
  expect(sent).toEqual([1, 2]);
  bucket.close();
});
