// bun:test's own fake timers (`jest.useFakeTimers()`, advanced with the synchronous
// `jest.advanceTimersByTime()`: Bun has no async variant), and @sinonjs/fake-timers' createClock()
// injected as the bucket's `clock`. jest.runAllTimers() is in run-all-timers.test.mjs, run on its own.
import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, jest, test } from 'bun:test';
import { TokenBucketFilterFactory } from 'token-bucket-filter';
import { LIMIT, createClient } from '../common/client.mjs';
import { moduleBuckets } from '../common/module-buckets.mjs';
import lesson from '../common/lesson.cjs';

// A hang is a failure, not a stuck run.
const TIMEOUT = 20_000;
const now = () => Date.now();
const advance = (ms) => jest.advanceTimersByTime(ms);

afterEach(() => {
  jest.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(
    `in-test/${kind}/useFakeTimers()`,
    async () => {
      jest.useFakeTimers();
      const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
      await lesson.lessonThroughClient(createClient, bucket, { advance, now });
    },
    TIMEOUT,
  );

  test(
    `module/${kind}/useFakeTimers()`,
    async () => {
      jest.useFakeTimers();
      await lesson.lessonThroughClient(createClient, moduleBuckets[kind], { advance, now });
    },
    TIMEOUT,
  );

  test(
    `createClock()/${kind}`,
    async () => {
      const clock = FakeTimers.createClock();
      const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind, clock });
      await lesson.lessonThroughClient(createClient, bucket, {
        advance: (ms) => clock.tickAsync(ms),
        now: () => clock.now,
      });
    },
    TIMEOUT,
  );
}
