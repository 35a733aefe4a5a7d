import { describe, expect, it } from 'vitest';
import { ClockTimer, globalClock, MAX_TIMER_DELAY, timerDelay, type Clock } from '../src/clock.js';

/** A clock that returns `handle` from every timer call and records which clear function was used. */
function recordingClock(handle: unknown): { clock: Clock; calls: string[] } {
  const calls: string[] = [];
  const clock: Clock = {
    performance: { now: () => 0 },
    setTimeout: (_callback, ms) => (calls.push(`setTimeout ${ms}`), handle),
    clearTimeout: () => calls.push('clearTimeout'),
    setInterval: (_callback, ms) => (calls.push(`setInterval ${ms}`), handle),
    clearInterval: () => calls.push('clearInterval'),
  };
  return { clock, calls };
}

describe('ClockTimer', () => {
  it('clears a one-shot timer with clearTimeout and a repeating one with clearInterval', () => {
    const { clock, calls } = recordingClock(7);
    ClockTimer.timeout(clock, () => undefined, 10).cancel();
    ClockTimer.interval(clock, () => undefined, 20).cancel();
    expect(calls).toEqual(['setTimeout 10', 'clearTimeout', 'setInterval 20', 'clearInterval']);
  });

  it('refs or unrefs a handle that can be, and leaves numbers, null and plain objects alone', () => {
    const log: string[] = [];
    const refHandle = { ref: () => log.push('ref'), unref: () => log.push('unref') };
    const timer = ClockTimer.timeout(recordingClock(refHandle).clock, () => undefined, 1);
    timer.keepAlive(true);
    timer.keepAlive(false);
    expect(log).toEqual(['ref', 'unref']);
    for (const handle of [3, null, undefined, {}]) {
      const plain = ClockTimer.timeout(recordingClock(handle).clock, () => undefined, 1);
      expect(() => {
        plain.keepAlive(true);
        plain.keepAlive(false);
      }).not.toThrow();
    }
  });
});

describe('timerDelay', () => {
  // Rows: [requested ms, delay given to the timer]
  const rows: Array<[number, number]> = [
    [0, 1],
    [0.2, 1],
    [1, 1],
    [2.1, 3],
    [1000, 1000],
    [MAX_TIMER_DELAY, MAX_TIMER_DELAY],
    [MAX_TIMER_DELAY + 0.5, MAX_TIMER_DELAY],
    [30 * 86_400_000, MAX_TIMER_DELAY],
  ];
  it.each(rows)('timerDelay(%d) is %d: whole ms, at least 1, at most 2^31 - 1', (ms, expected) => {
    expect(timerDelay(ms)).toBe(expected);
  });
});

describe("the default clock under node:test's mock timers", () => {
  it('reads the mocked Date.now() while Date says isMock, from a bucket created before they were enabled', async () => {
    const { LazyTokenBucketFilter } = await import('../src/index.js');
    const bucket = new LazyTokenBucketFilter({ capacity: 1, refillTokens: 1, refillInterval: 1000 });
    expect(bucket.tryGetToken()).toBe(true);
    const RealDate = globalThis.Date;
    let mockedNow = 0;
    // What node:test's MockTimers puts in place: a Date whose now() moves with tick(), marked isMock.
    const MockDate = Object.assign(function MockDate() {}, { isMock: true, now: () => mockedNow });
    globalThis.Date = MockDate as unknown as DateConstructor;
    try {
      // Re-based on the mocked clock at the whole ms of real time the bucket had lived (0 unless slow).
      const wait = bucket.waitTime();
      expect(wait).toBeGreaterThan(900);
      expect(wait).toBeLessThanOrEqual(1000);
      mockedNow = wait - 1;
      expect(bucket.tryGetToken()).toBe(false);
      mockedNow = wait;
      expect(bucket.tryGetToken()).toBe(true);
    } finally {
      globalThis.Date = RealDate;
    }
    // Back on performance.now(): re-based again, no token minted by the switch.
    expect(bucket.tryGetToken()).toBe(false);
    bucket.close();
  });
});

/**
 * Runs `body` with the global timers replaced by `timers` (functions with no fake-timers `clock` mark
 * unless given one) and, if `mockDate` is set, with node:test's mocked `Date` in place; restores all.
 */
function withGlobals(
  replacements: {
    timers?: Partial<Record<'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval', unknown>>;
    mockDate?: () => number;
  },
  body: () => void,
): void {
  const globals = globalThis as unknown as Record<string, unknown>;
  const saved = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'].map(
    (name) => [name, globals[name]] as const,
  );
  try {
    for (const [name, value] of Object.entries(replacements.timers ?? {})) globals[name] = value;
    const now = replacements.mockDate;
    if (now !== undefined) globals['Date'] = Object.assign(function MockDate() {}, { isMock: true, now });
    body();
  } finally {
    for (const [name, value] of saved) globals[name] = value;
  }
}

describe('globalClock()', () => {
  const fakeClock = {
    performance: { now: () => 5 },
    setTimeout: () => 0,
    clearTimeout: () => undefined,
    setInterval: () => 0,
    clearInterval: () => undefined,
  };
  // Rows: [what the global setTimeout carries as its own `clock`, whether it is taken as the clock]
  const rows: Array<[string, unknown, boolean]> = [
    ['a fake-timers clock', fakeClock, true],
    ['a number', 7, false],
    ['an object without performance', { setTimeout: () => 0 }, false],
    ['an object whose performance.now is not a function', { performance: { now: 5 }, setTimeout: () => 0 }, false],
    ['an object without setTimeout', { performance: { now: () => 5 } }, false],
  ];
  it.each(rows)('a global setTimeout marked with %s as its clock: taken %s', (_what, clock, taken) => {
    const setTimeoutWithClock = Object.assign(() => 0, { clock });
    withGlobals({ timers: { setTimeout: setTimeoutWithClock } }, () => {
      expect(globalClock()).toBe(taken ? clock : globalThis);
    });
  });

  it('ignores a clock inherited from a polluted Function.prototype (an own property only)', () => {
    const prototype = Function.prototype as unknown as { clock?: unknown };
    prototype.clock = fakeClock;
    try {
      expect(globalClock()).toBe(globalThis);
    } finally {
      delete prototype.clock;
    }
  });

  it("under node:test's mock timers, reads the mocked Date.now() and sets and clears the global (mocked) timers", () => {
    const calls: string[] = [];
    const timers = {
      setTimeout: (_callback: () => void, ms: number) => (calls.push(`setTimeout ${ms}`), 'timeout'),
      clearTimeout: (handle: unknown) => calls.push(`clearTimeout ${String(handle)}`),
      setInterval: (_callback: () => void, ms: number) => (calls.push(`setInterval ${ms}`), 'interval'),
      clearInterval: (handle: unknown) => calls.push(`clearInterval ${String(handle)}`),
    };
    withGlobals({ timers, mockDate: () => 1234 }, () => {
      const clock = globalClock();
      expect(clock).not.toBe(globalThis);
      expect(clock.performance.now()).toBe(1234);
      const handles = [clock.setTimeout(() => undefined, 10), clock.setInterval(() => undefined, 20)];
      clock.clearTimeout(handles[0] as never);
      clock.clearInterval(handles[1] as never);
    });
    expect(calls).toEqual(['setTimeout 10', 'setInterval 20', 'clearTimeout timeout', 'clearInterval interval']);
  });
});
