// Buckets created inside the test, after vi.useFakeTimers(): what the README recommends.
import { afterEach, test, vi } from 'vitest';
import { TokenBucketFilterFactory } from 'token-bucket-filter';
import { LIMIT, createClient } from '../common/client.mjs';
import { lessonThroughClient } from '../common/lesson.cjs';

/** vitest 2's default toFake, plus performance (vitest 3 and later fake it by default). */
const WITH_PERFORMANCE = [
  'setTimeout',
  'clearTimeout',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'Date',
  'performance',
];
const now = () => Date.now();
const advance = (ms) => vi.advanceTimersByTimeAsync(ms);

afterEach(() => {
  vi.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(`in-test/${kind}/default`, async () => {
    vi.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { advance, now });
  });

  test(`in-test/${kind}/toFake+performance`, async () => {
    vi.useFakeTimers({ toFake: WITH_PERFORMANCE });
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { advance, now });
  });

  test(`in-test/${kind}/runAllTimersAsync`, async () => {
    vi.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { runAll: () => vi.runAllTimersAsync(), now });
  });
}
