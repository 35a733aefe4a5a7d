// bun:test's jest.runAllTimers(), run by a bun process of its own: Bun sets no limit on the timers it
// runs, so with a bucket that keeps a refill interval it never returns, and the test timeout cannot fire
// while it loops. The lazy kind comes first so that its row is reported before that.
import { afterEach, jest, test } from 'bun:test';
import { TokenBucketFilterFactory } from 'token-bucket-filter';
import { LIMIT, createClient } from '../common/client.mjs';
import lesson from '../common/lesson.cjs';

// A hang is a failure, not a stuck run (where the loop lets the timeout fire at all).
const TIMEOUT = 20_000;
const now = () => Date.now();

afterEach(() => {
  jest.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(
    `in-test/${kind}/runAllTimers`,
    async () => {
      jest.useFakeTimers();
      const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
      await lesson.lessonThroughClient(createClient, bucket, {
        runAll: () => jest.runAllTimers(),
        now,
        syncRunAll: true,
      });
    },
    TIMEOUT,
  );
}
