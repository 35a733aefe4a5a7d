import { describe, expect, it } from 'vitest';
import FakeTimers from '@sinonjs/fake-timers';
import { MAX_TIMER_DELAY } from '../src/clock.js';
import { BucketClosedError, BucketNotStartedError, TimerTokenBucketFilter } from '../src/index.js';
import { createFakeClock, flushPromises, recordTimers, track } from './support/clock.js';

describe('TimerTokenBucketFilter', () => {
  it('the constructor starts no timer; start() starts exactly one, however often it is called', () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    expect(clock.countTimers()).toBe(0);
    expect(bucket.running).toBe(false);
    expect(bucket.start()).toBe(bucket);
    bucket.start();
    expect(clock.countTimers()).toBe(1);
    expect(bucket.running).toBe(true);
    bucket.close();
    expect(clock.countTimers()).toBe(0);
    expect(bucket.running).toBe(false);
    expect(() => bucket.start()).toThrow(BucketClosedError);
  });

  it('before start(), immediate grants work and a wait rejects with BucketNotStartedError instead of hanging', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, clock });
    await expect(bucket.getToken()).resolves.toBeUndefined();
    await expect(bucket.getToken()).rejects.toThrow(BucketNotStartedError);
    clock.tick(1000);
    expect(bucket.tryGetToken()).toBe(true); // the schedule counts from construction, started or not
    bucket.close();
  });

  it('a late start() keeps the schedule counted from construction', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, initialTokens: 0, clock });
    await clock.tickAsync(1300);
    bucket.start();
    bucket.tryGetToken();
    const granted = track(bucket.getToken(), clock);
    await clock.tickAsync(700);
    expect(granted).toMatchObject({ state: 'granted', at: 2000 });
    bucket.close();
  });

  it('its interval is unref’d while nobody waits and ref’d while callers are queued', async () => {
    const { clock, handles } = recordTimers(createFakeClock());
    const bucket = new TimerTokenBucketFilter({ capacity: 1, initialTokens: 0, clock }).start();
    expect(handles.length).toBe(1);
    expect(handles[0]?.hasRef()).toBe(false);
    const granted = track(bucket.getToken(), clock);
    expect(handles[0]?.hasRef()).toBe(true);
    await clock.tickAsync(1000);
    expect(granted.state).toBe('granted');
    expect(handles[0]?.hasRef()).toBe(false);
    bucket.close();
  });

  it('each tick adds the tokens of every step that passed, not one step per tick', () => {
    let now = 0;
    let tick: (() => void) | undefined;
    const clock = {
      performance: { now: () => now },
      setTimeout: () => 0,
      clearTimeout: () => undefined,
      setInterval: (callback: () => void) => ((tick = callback), 0),
      clearInterval: () => undefined,
    };
    const bucket = new TimerTokenBucketFilter({ capacity: 10, refillInterval: 10, initialTokens: 0, clock }).start();
    now = 50; // the interval ran four ticks late
    tick?.();
    expect(bucket.available).toBe(5);
    bucket.close();
  });

  it('re-aligns a late interval to the schedule, so the rate never drifts', async () => {
    let now = 0;
    const timers: Array<{ kind: 'timeout' | 'interval'; ms: number; callback: () => void; cleared: boolean }> = [];
    const add = (kind: 'timeout' | 'interval') => (callback: () => void, ms: number) => {
      timers.push({ kind, ms, callback, cleared: false });
      return timers.length - 1;
    };
    const clear = (handle: number) => {
      const timer = timers[handle];
      if (timer) timer.cleared = true;
    };
    const clock = {
      performance: { now: () => now },
      setTimeout: add('timeout'),
      clearTimeout: clear,
      setInterval: add('interval'),
      clearInterval: clear,
    };
    // Capacity 3: the bucket never fills here, so its interval never stops for being idle.
    const bucket = new TimerTokenBucketFilter({ capacity: 3, refillInterval: 10, initialTokens: 0, clock }).start();
    expect(timers).toMatchObject([{ kind: 'interval', ms: 10 }]);
    const granted = track(bucket.getToken(), clock);
    now = 10.4; // a little late: tolerated
    timers[0]?.callback();
    await flushPromises();
    expect(granted).toMatchObject({ state: 'granted' });
    expect(timers.length).toBe(1);
    now = 23; // 3 ms behind: re-align with a one-shot timer to the next step at 30 ms
    timers[0]?.callback();
    expect(timers[0]?.cleared).toBe(true);
    expect(timers[1]).toMatchObject({ kind: 'timeout', ms: 7, cleared: false });
    now = 30;
    timers[1]?.callback();
    expect(timers[2]).toMatchObject({ kind: 'interval', ms: 10, cleared: false });
    bucket.close();
    expect(timers.every((t) => t.cleared || t.kind === 'timeout')).toBe(true);
  });

  it('splits refill intervals longer than a timer can wait into capped one-shot timers', async () => {
    const clock = createFakeClock();
    const day = 86_400_000;
    const bucket = new TimerTokenBucketFilter({ capacity: 1, refillInterval: 30 * day, initialTokens: 0, clock });
    bucket.start();
    const granted = track(bucket.getToken(), clock);
    await clock.tickAsync(30 * day);
    expect(granted).toMatchObject({ state: 'granted', at: 30 * day });
    bucket.close();
    expect(clock.countTimers()).toBe(0);
  });

  it('stops its interval while full with nobody waiting, and restarts it at the next take on the same schedule', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 2, refillInterval: 100, initialTokens: 0, clock }).start();
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(200); // full at 200
    expect(clock.countTimers()).toBe(0); // the lesson's daemon only adds a token below the maximum
    await clock.tickAsync(1050); // idle: no ticks, and still full
    expect(bucket.available).toBe(2);
    expect(bucket.tryGetToken(2)).toBe(true); // at 1250
    expect(clock.countTimers()).toBe(1);
    const next = track(bucket.getToken(), clock);
    await clock.tickAsync(100);
    expect(next).toMatchObject({ state: 'granted', at: 1300 }); // the step counted from creation, not from the take
    bucket.close();
    expect(clock.countTimers()).toBe(0);
  });

  it('lets runAllTimers() terminate: a full idle timer bucket leaves no timer to run', async () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, refillInterval: 10, initialTokens: 0, clock }).start();
    const calls = Array.from({ length: 5 }, () => track(bucket.getToken(), clock));
    await clock.runAllAsync(); // throws after 1000 timers if the interval never stopped
    expect(calls.map((call) => call.at)).toEqual([10, 20, 30, 40, 50]);
    expect(clock.countTimers()).toBe(0);
    bucket.close();
  });
});

/** A clock whose reading the test sets and whose timers it fires by hand, recording each as set. */
function scriptedClock() {
  let now = 0;
  const timers: Array<{ kind: 'timeout' | 'interval'; ms: number; callback: () => void; cleared: boolean }> = [];
  const add = (kind: 'timeout' | 'interval') => (callback: () => void, ms: number) => {
    timers.push({ kind, ms, callback, cleared: false });
    return timers.length - 1;
  };
  const clear = (handle: number) => {
    const timer = timers[handle];
    if (timer) timer.cleared = true;
  };
  const clock = {
    performance: { now: () => now },
    setTimeout: add('timeout'),
    clearTimeout: clear,
    setInterval: add('interval'),
    clearInterval: clear,
  };
  return { clock, timers, set: (reading: number) => (now = reading) };
}

describe('TimerTokenBucketFilter: the refill timer at exact instants (interval 100 ms)', () => {
  // Rows: [start() at, the first timer set]: on the schedule (less than 1 ms past a step) an interval,
  // otherwise a one-shot timer to the next step.
  const starts: Array<[number, { kind: 'timeout' | 'interval'; ms: number }]> = [
    [100, { kind: 'interval', ms: 100 }],
    [100.5, { kind: 'interval', ms: 100 }],
    [100.999, { kind: 'interval', ms: 100 }],
    [101, { kind: 'timeout', ms: 99 }],
    [150, { kind: 'timeout', ms: 50 }],
  ];
  it.each(starts)('start() at %d ms sets %o', (at, first) => {
    const { clock, timers, set } = scriptedClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 3, refillInterval: 100, initialTokens: 0, clock });
    set(at);
    bucket.start();
    expect(timers).toMatchObject([first]);
    bucket.close();
  });

  // Rows: [an interval tick at, whether the interval is re-aligned]: less than 1 ms late is on time.
  const ticks: Array<[number, boolean]> = [
    [200, false],
    [200.999, false],
    [201, true],
  ];
  it.each(ticks)('an interval tick at %d ms re-aligns: %s', (at, realigned) => {
    const { clock, timers, set } = scriptedClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 3, refillInterval: 100, initialTokens: 0, clock }).start();
    set(at);
    timers[0]?.callback();
    expect(timers[0]?.cleared).toBe(realigned);
    expect(timers.length).toBe(realigned ? 2 : 1);
    bucket.close();
  });
});

describe('TimerTokenBucketFilter: which timers it keeps, and when it keeps none', () => {
  it('a refill interval up to 2^31 - 1 ms ticks on an interval; a longer one on one-shot timers', () => {
    for (const [refillInterval, kind] of [
      [MAX_TIMER_DELAY, 'interval'],
      [MAX_TIMER_DELAY + 1, 'timeout'],
    ] as const) {
      const { clock, timers } = scriptedClock();
      const bucket = new TimerTokenBucketFilter({ capacity: 2, refillInterval, initialTokens: 0, clock }).start();
      expect(timers.map((timer) => timer.kind)).toEqual([kind]);
      bucket.close();
    }
  });

  it('a take before start() starts no timer', () => {
    const clock = createFakeClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 2, clock });
    expect(bucket.tryGetToken()).toBe(true);
    expect(clock.countTimers()).toBe(0);
    bucket.start();
    expect(clock.countTimers()).toBe(1);
    bucket.close();
  });

  it('stops at once when a late interval tick fills it', () => {
    const { clock, timers, set } = scriptedClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, refillInterval: 10, initialTokens: 0, clock }).start();
    set(21); // 1 ms late, and the step at 10 fills the bucket
    expect(() => timers[0]?.callback()).not.toThrow();
    expect(timers.map((timer) => [timer.kind, timer.cleared])).toEqual([['interval', true]]);
    expect(bucket.available).toBe(1);
    bucket.close();
  });

  it('stops at once when a one-shot tick (a fractional interval) fills it, arming no other', () => {
    const { clock, timers, set } = scriptedClock();
    const bucket = new TimerTokenBucketFilter({ capacity: 1, refillInterval: 2.5, initialTokens: 0, clock }).start();
    expect(timers).toMatchObject([{ kind: 'timeout', ms: 3 }]); // 2.5 ms, rounded up
    set(3);
    timers[0]?.callback();
    expect(timers.length).toBe(1);
    expect(bucket.available).toBe(1);
    bucket.close();
  });

  it('arms nothing when fake timers come under a bucket not started, or closed', () => {
    const notStarted = new TimerTokenBucketFilter({ capacity: 1, initialTokens: 0 });
    const closed = new TimerTokenBucketFilter({ capacity: 1, initialTokens: 0 }).start();
    closed.close();
    const fake = FakeTimers.install();
    try {
      notStarted.stats(); // the first readings on the fake clock: each bucket hears the clock changed
      closed.stats();
      expect(fake.countTimers()).toBe(0);
    } finally {
      fake.uninstall();
      notStarted.close();
    }
  });
});
