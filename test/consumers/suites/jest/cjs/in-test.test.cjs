'use strict';
// Buckets created inside the test, after jest.useFakeTimers(); the CommonJS build.
/* global afterEach, jest, test -- Jest's globals, as CommonJS test files use them */
const { TokenBucketFilterFactory } = require('token-bucket-filter');
const { LIMIT, createClient } = require('../../common/client.cjs');
const { lessonThroughClient } = require('../../common/lesson.cjs');

const now = () => Date.now();

afterEach(() => {
  jest.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(`in-test/${kind}/modern`, async () => {
    jest.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { advance: (ms) => jest.advanceTimersByTimeAsync(ms), now });
  });

  test(`in-test/${kind}/runAllTimers`, async () => {
    jest.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { runAll: () => jest.runAllTimers(), now, syncRunAll: true });
  });

  test(`in-test/${kind}/runAllTimersAsync`, async () => {
    jest.useFakeTimers();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind });
    await lessonThroughClient(createClient, bucket, { runAll: () => jest.runAllTimersAsync(), now });
  });

  test(`in-test/${kind}/legacy`, async () => {
    // Legacy fake timers fake no clock the bucket could find: the README's recipe gives it one that
    // reads jest.now() and calls the (faked) global timers at each use.
    jest.useFakeTimers({ legacyFakeTimers: true });
    const clock = {
      performance: { now: () => jest.now() },
      setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle),
      setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
      clearInterval: (handle) => globalThis.clearInterval(handle),
    };
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind, clock });
    await lessonThroughClient(createClient, bucket, {
      advance: (ms) => jest.advanceTimersByTime(ms),
      now: () => jest.now(),
    });
  });
}
