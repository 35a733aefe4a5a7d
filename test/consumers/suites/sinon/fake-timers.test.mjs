// @sinonjs/fake-timers used directly: install() with its defaults, install() faking the timers only,
// and createClock() injected as the bucket's `clock` (no globals touched).
import FakeTimers from '@sinonjs/fake-timers';
import { test } from 'node:test';
import { KeyedTokenBucketFilter, TokenBucketFilterFactory } from 'token-bucket-filter';
import { SharedTokenBucketFilter } from 'token-bucket-filter/shared';
import { LIMIT, createClient } from '../common/client.mjs';
import { moduleBuckets } from '../common/module-buckets.mjs';
import lesson from '../common/lesson.cjs';

// A hang is a failure, not a stuck run.
const TIMEOUT = { timeout: 20_000 };
const TIMERS_ONLY = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'];

/** Runs the lesson on `bucket` with every timer of the globally installed `clock`. */
async function lessonOnInstalled(clock, bucket) {
  try {
    await lesson.lessonThroughClient(createClient, bucket, {
      advance: (ms) => clock.tickAsync(ms),
      now: () => clock.now,
    });
  } finally {
    clock.uninstall();
  }
}

for (const kind of ['lazy', 'timer']) {
  test(`install()/in-test/${kind}`, TIMEOUT, async () => {
    const clock = FakeTimers.install();
    await lessonOnInstalled(clock, TokenBucketFilterFactory.create({ ...LIMIT, kind }));
  });

  test(`install()/module/${kind}`, TIMEOUT, async () => {
    await lessonOnInstalled(FakeTimers.install(), moduleBuckets[kind]);
  });

  test(`install(timers only)/in-test/${kind}`, TIMEOUT, async () => {
    const clock = FakeTimers.install({ toFake: TIMERS_ONLY });
    await lessonOnInstalled(clock, TokenBucketFilterFactory.create({ ...LIMIT, kind }));
  });

  test(`createClock()/${kind}`, TIMEOUT, async () => {
    const clock = FakeTimers.createClock();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, kind, clock });
    await lesson.lessonThroughClient(createClient, bucket, {
      advance: (ms) => clock.tickAsync(ms),
      now: () => clock.now,
    });
  });
}

test('createClock()/keyed', TIMEOUT, async () => {
  // Two keys at once: each is granted on its own schedule, neither waits for the other.
  const clock = FakeTimers.createClock();
  const perUser = new KeyedTokenBucketFilter({ ...LIMIT, clock });
  const client = createClient(
    { getToken: () => Promise.all([perUser.getToken('alice'), perUser.getToken('bob')]) },
    (request) => request,
  );
  try {
    await lesson.runLesson({
      request: (id) => client.request(id),
      advance: (ms) => clock.tickAsync(ms),
      now: () => clock.now,
    });
  } finally {
    perUser.close();
  }
});

test('createClock()/shared', TIMEOUT, async () => {
  // Two instances on one handle stand for two threads: requests alternate between them.
  const clock = FakeTimers.createClock();
  const bucket = new SharedTokenBucketFilter({ ...LIMIT, clock });
  const other = SharedTokenBucketFilter.from(bucket.handle, { clock });
  const clients = [createClient(bucket, (request) => request), createClient(other, (request) => request)];
  try {
    await lesson.runLesson({
      request: (id) => clients[id % 2].request(id),
      advance: (ms) => clock.tickAsync(ms),
      now: () => clock.now,
    });
  } finally {
    bucket.close();
  }
});
