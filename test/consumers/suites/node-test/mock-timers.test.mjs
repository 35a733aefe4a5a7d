// node:test's own mock timers: `t.mock.timers.enable()` with its defaults, then `tick(ms)`.
import { test } from 'node:test';
import { TokenBucketFilterFactory } from 'token-bucket-filter';
import { LIMIT, createClient } from '../common/client.mjs';
import { moduleBuckets } from '../common/module-buckets.mjs';
import lesson from '../common/lesson.cjs';

// A hang is a failure, not a stuck run.
const TIMEOUT = { timeout: 20_000 };

for (const kind of ['lazy', 'timer']) {
  test(`in-test/${kind}/mock.timers.enable()`, TIMEOUT, async (t) => {
    // node:test mocks no performance.now(): the README's recipe mocks Date too and gives the bucket a
    // clock that reads Date.now() and calls the (mocked) global timers at each use.
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    const clock = {
      performance: { now: () => Date.now() },
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle),
      setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
      clearInterval: (handle) => globalThis.clearInterval(handle),
    };
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind, clock });
    await lesson.lessonThroughClient(createClient, bucket, {
      advance: (ms) => t.mock.timers.tick(ms),
      now: () => Date.now(),
    });
  });

  test(`module/${kind}/mock.timers.enable()`, TIMEOUT, async (t) => {
    t.mock.timers.enable();
    await lesson.lessonThroughClient(createClient, moduleBuckets[kind], {
      advance: (ms) => t.mock.timers.tick(ms),
    });
  });
}
