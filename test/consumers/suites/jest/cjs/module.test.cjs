'use strict';
// Buckets created at module level (when client.cjs is required), then jest.useFakeTimers() in the test.
/* global afterEach, jest, test -- Jest's globals, as CommonJS test files use them */
const { createClient } = require('../../common/client.cjs');
const { moduleBuckets } = require('../../common/module-buckets.cjs');
const { lessonThroughClient } = require('../../common/lesson.cjs');

afterEach(() => {
  jest.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(`module/${kind}/modern`, async () => {
    jest.useFakeTimers();
    await lessonThroughClient(createClient, moduleBuckets[kind], {
      advance: (ms) => jest.advanceTimersByTimeAsync(ms),
      now: () => Date.now(),
    });
  });
}
