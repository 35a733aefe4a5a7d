// Buckets created at module level (when client.mjs is imported), then jest.useFakeTimers() in the test.
import { afterEach, jest, test } from '@jest/globals';
import { createClient } from '../../common/client.mjs';
import { moduleBuckets } from '../../common/module-buckets.mjs';
import { lessonThroughClient } from '../../common/lesson.cjs';

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
