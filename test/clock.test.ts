import { describe, expect, it } from 'vitest';
import { ClockTimer, MAX_TIMER_DELAY, timerDelay, type Clock } from '../src/clock.js';

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
