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
    t.mock.timers.enable();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    // mock.timers has no clock to read: grant instants are read from the steps the test advanced.
    await lesson.lessonThroughClient(createClient, bucket, { advance: (ms) => t.mock.timers.tick(ms) });
  });

  test(`module/${kind}/mock.timers.enable()`, TIMEOUT, async (t) => {
    t.mock.timers.enable();
    await lesson.lessonThroughClient(createClient, moduleBuckets[kind], {
      advance: (ms) => t.mock.timers.tick(ms),
    });
  });
}
