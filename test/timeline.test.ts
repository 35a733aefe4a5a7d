import FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/clock.js';
import { MAX_CLOCK_READING } from '../src/errors.js';
import {
  KeyedTokenBucketFilter,
  LazyTokenBucketFilter,
  TimerTokenBucketFilter,
  TokenBucketFilterFactory,
  type TokenBucketFilterKind,
} from '../src/index.js';
import { flushPromises, track } from './support/clock.js';

/** The real setTimeout, captured before any test replaces the global one. */
const setTimeoutReal = globalThis.setTimeout;

/** A clock whose reading the test sets by hand; its timers never fire. */
function handClock(): { clock: Clock; set: (now: number) => void } {
  let now = 0;
  return {
    clock: {
      performance: { now: () => now },
      setTimeout: () => ({}),
      clearTimeout: () => undefined,
      setInterval: () => ({}),
      clearInterval: () => undefined,
    },
    set: (reading) => (now = reading),
  };
}

describe('in-process buckets re-base their schedule when the clock goes back', () => {
  it.each([
    ['LazyTokenBucketFilter', (clock: Clock) => new LazyTokenBucketFilter({ capacity: 5, initialTokens: 0, clock })],
    ['TimerTokenBucketFilter', (clock: Clock) => new TimerTokenBucketFilter({ capacity: 5, initialTokens: 0, clock })],
  ])('%s keeps its tokens and its phase, and refills on from the new reading', (_name, create) => {
    const { clock, set } = handClock();
    const bucket = create(clock);
    set(3400); // 3 steps, 400 ms into the fourth
    expect(bucket.tryGetToken(3)).toBe(true);
    set(500); // back 2900 ms: time stands still across the jump
    expect(bucket.available).toBe(0);
    set(1099); // 599 ms later: the fourth step is 1 ms away
    expect(bucket.available).toBe(0);
    set(1100);
    expect(bucket.available).toBe(1);
    bucket.close();
  });

  it('a keyed bucket re-bases every key together', () => {
    const { clock, set } = handClock();
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, initialTokens: 0, clock });
    set(1000);
    expect(keyed.tryGetToken('a')).toBe(true);
    set(10); // back
    expect(keyed.available('a')).toBe(0);
    expect(keyed.available('b')).toBe(1);
    set(1010);
    expect(keyed.available('a')).toBe(1);
    expect(keyed.available('b')).toBe(2);
    keyed.close();
  });
});

describe('the timeline at exact readings', () => {
  it('reading the same fractional instant twice moves the schedule by nothing', () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 200, clock });
    set(150.5);
    expect(bucket.available).toBe(0);
    expect(bucket.available).toBe(0); // the same reading again: not a re-base
    set(199.5);
    expect(bucket.available).toBe(0);
    set(200); // the first step, at exactly 200 ms
    expect(bucket.available).toBe(1);
    bucket.close();
  });

  it('accepts readings up to 2^42 ms, the largest valid one, and refills on them', () => {
    const { clock, set } = handClock();
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 100, clock });
    const lastStep = MAX_CLOCK_READING - (MAX_CLOCK_READING % 100); // the last step at or before 2^42
    set(lastStep - 1);
    expect(bucket.tryGetToken()).toBe(true);
    set(MAX_CLOCK_READING);
    expect(bucket.available).toBe(1);
    bucket.close();
  });

  it('fake timers installed and advanced before the next reading mint nothing (a changed source re-bases)', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 1000 });
    const fake = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      fake.tick(1e9); // the fake clock reads far past anything the real clock has read
      expect(bucket.available).toBe(0);
      fake.tick(999);
      expect(bucket.available).toBe(0);
      fake.tick(1);
      expect(bucket.available).toBe(1);
    } finally {
      fake.uninstall();
    }
    bucket.close();
  });
});

describe.each<TokenBucketFilterKind>(['lazy', 'timer'])(
  'a %s bucket created before fake timers are installed',
  (kind) => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('follows vi.useFakeTimers() from the moment they are installed (no wait for the uptime at creation)', async () => {
      const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind });
      vi.useFakeTimers();
      expect(bucket.waitTime()).toBe(1000);
      const start = performance.now();
      const grants: number[] = [];
      for (let i = 0; i < 3; i += 1) void bucket.getToken().then(() => grants.push(performance.now() - start));
      await vi.advanceTimersByTimeAsync(3000);
      // Created with no tokens, first read under the fake timers: one step from there, exactly.
      expect(grants).toEqual([1000, 2000, 3000]);
      bucket.close();
    });

    it('follows vi.useFakeTimers() that leave performance alone (vitest 2 defaults)', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind });
      const granted = track(bucket.getToken(), { performance: { now: () => Date.now() } });
      const start = Date.now();
      await vi.advanceTimersByTimeAsync(1000);
      expect(granted).toMatchObject({ state: 'granted', at: start + 1000 });
      bucket.close();
    });

    it('follows sinon install() with timers only, and goes back to real time after uninstall()', async () => {
      // A minute a token. The real ms between creation and install() carry over into the fake timeline
      // (a switch keeps the phase within the step), so the grant comes up to that much before 120 s:
      // checked a second early. And the real time the test takes (seconds under a mutation run) mints
      // nothing of its own before the check after uninstall().
      const real = TokenBucketFilterFactory.create({ capacity: 2, initialTokens: 0, refillInterval: 60_000, kind });
      const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
      let granted = false;
      try {
        real.getToken(2).then(
          () => (granted = true),
          () => undefined,
        );
        await clock.tickAsync(119_000);
        expect(granted).toBe(false);
        await clock.tickAsync(1000);
        await flushPromises();
        expect(granted).toBe(true);
      } finally {
        clock.uninstall();
      }
      expect(real.available).toBe(0); // back on real time: nothing minted by the switch
      expect(real.tryGetToken()).toBe(false);
      real.close();
    });
  },
);

describe('a bucket on the default clock remembers the fake clock of the installed setTimeout', () => {
  /** Replaces the global setTimeout with `timer` for `body` (a bucket only reads it: nothing is scheduled). */
  async function withSetTimeout(timer: unknown, body: () => Promise<void> | void): Promise<void> {
    const globals = globalThis as unknown as Record<string, unknown>;
    const saved = globals['setTimeout'];
    globals['setTimeout'] = timer;
    try {
      await body();
    } finally {
      globals['setTimeout'] = saved;
    }
  }

  it('follows a new clock put on the same setTimeout function (the mark is checked, not only the function)', async () => {
    const first = FakeTimers.createClock(0);
    const second = FakeTimers.createClock(0);
    const timer = Object.assign(() => 0, { clock: first as unknown });
    await withSetTimeout(timer, () => {
      const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0 });
      expect(bucket.waitTime()).toBe(1000);
      first.tick(400);
      expect(bucket.waitTime()).toBe(600); // read from the first clock
      timer.clock = second; // a re-base: time goes on from 400 on the second clock
      expect(bucket.waitTime()).toBe(600);
      second.tick(100);
      first.tick(300); // no longer read
      expect(bucket.waitTime()).toBe(500);
      bucket.close();
    });
  });

  it('never remembers a clock inherited from a polluted Function.prototype: it reads the global performance', async () => {
    const fake = FakeTimers.createClock(0);
    const prototype = Function.prototype as unknown as { clock?: unknown };
    const timer = () => 0; // no own clock
    prototype.clock = fake;
    try {
      await withSetTimeout(timer, async () => {
        const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 40 });
        expect(bucket.waitTime()).toBeGreaterThan(30);
        fake.tick(40); // would grant, were the polluted clock read
        expect(bucket.tryGetToken()).toBe(false);
        await new Promise((resolve) => setTimeoutReal(resolve, 60));
        expect(bucket.tryGetToken()).toBe(true); // the real performance has moved on a step
        bucket.close();
      });
    } finally {
      delete prototype.clock;
    }
  });

  it('takes no clock it remembered from a function that inherits it (the same clock, from a polluted Function.prototype)', async () => {
    const fake = FakeTimers.createClock(0);
    const own = Object.assign(() => 0, { clock: fake as unknown });
    const prototype = Function.prototype as unknown as { clock?: unknown };
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0, refillInterval: 40 });
    await withSetTimeout(own, () => {
      expect(bucket.waitTime()).toBe(40); // the fake clock, remembered for `own`
    });
    prototype.clock = fake;
    try {
      await withSetTimeout(
        () => 0,
        async () => {
          fake.tick(40); // would grant, were the remembered clock taken for this function
          expect(bucket.tryGetToken()).toBe(false);
          await new Promise((resolve) => setTimeoutReal(resolve, 60));
          expect(bucket.tryGetToken()).toBe(true); // the real performance has moved on a step
        },
      );
    } finally {
      delete prototype.clock;
      bucket.close();
    }
  });

  it('follows a fake clock installed after another, and real time after uninstall()', () => {
    const bucket = new LazyTokenBucketFilter({ capacity: 1, initialTokens: 0 });
    let clock = FakeTimers.install();
    try {
      expect(bucket.waitTime()).toBe(1000);
      clock.tick(300);
      expect(bucket.waitTime()).toBe(700);
      clock.uninstall();
      clock = FakeTimers.install({ now: 50_000 });
      expect(bucket.waitTime()).toBe(700); // re-based onto the new clock: no time passed across the change
      clock.tick(700);
      expect(bucket.tryGetToken()).toBe(true);
    } finally {
      clock.uninstall();
    }
    expect(bucket.waitTime()).toBe(1000);
    bucket.close();
  });
});
