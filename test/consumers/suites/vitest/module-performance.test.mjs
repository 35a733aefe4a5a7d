// Buckets created at module level (when client.mjs is imported), then fake timers that include
// performance (vitest 2's default list plus 'performance').
import { afterEach, test, vi } from 'vitest';
import { createClient } from '../common/client.mjs';
import { moduleBuckets } from '../common/module-buckets.mjs';
import { lessonThroughClient } from '../common/lesson.cjs';

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

afterEach(() => {
  vi.useRealTimers();
});

for (const kind of ['lazy', 'timer']) {
  test(`module/${kind}/toFake+performance`, async () => {
    vi.useFakeTimers({ toFake: WITH_PERFORMANCE });
    await lessonThroughClient(createClient, moduleBuckets[kind], {
      advance: (ms) => vi.advanceTimersByTimeAsync(ms),
      now: () => Date.now(),
    });
  });
}
