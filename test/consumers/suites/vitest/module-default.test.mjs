// Buckets created at module level (when client.mjs is imported), then vi.useFakeTimers() in the test.
import { afterEach, test, vi } from 'vitest';
import { createClient } from '../common/client.mjs';
import { moduleBuckets } from '../common/module-buckets.mjs';
import { lessonThroughClient } from '../common/lesson.cjs';

afterEach(() => {
  vi.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(`module/${kind}/default`, async () => {
    vi.useFakeTimers();
    await lessonThroughClient(createClient, moduleBuckets[kind], {
      advance: (ms) => vi.advanceTimersByTimeAsync(ms),
      now: () => Date.now(),
    });
  });
}
