import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter, TimerTokenBucketFilter, TokenBucketFilterFactory, type Clock } from '../src/index.js';
import { createFakeClock, track } from './support/clock.js';

describe('TokenBucketFilterFactory.create', () => {
  it('builds a lazy bucket by default', () => {
    const clock = createFakeClock();
    const bucket = TokenBucketFilterFactory.create({ capacity: 2, clock });
    expect(bucket).toBeInstanceOf(LazyTokenBucketFilter);
    expect(clock.countTimers()).toBe(0);
  });

  it('starts a timer bucket only after its construction has completed', () => {
    const clock = createFakeClock();
    const events: string[] = [];
    const watched: Clock = {
      performance: { now: () => clock.performance.now() },
      setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
      clearTimeout: (handle) => clock.clearTimeout(handle),
      setInterval: (callback, ms) => {
        events.push('setInterval');
        return clock.setInterval(callback, ms);
      },
      clearInterval: (handle) => clock.clearInterval(handle),
    };
    class Probe extends TimerTokenBucketFilter {
      constructor(options: ConstructorParameters<typeof TimerTokenBucketFilter>[0]) {
        super(options);
        events.push('constructed');
      }
    }
    new Probe({ capacity: 1, clock: watched });
    expect(events).toEqual(['constructed']); // constructed but not created: no timer
    // Not full: a full bucket with nobody waiting needs no refill timer until its next take.
    const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind: 'timer', clock: watched });
    expect(bucket).toBeInstanceOf(TimerTokenBucketFilter);
    expect(bucket.running).toBe(true);
    expect(events).toEqual(['constructed', 'setInterval']);
    bucket.close();
  });

  it('a created timer bucket serves waiters', async () => {
    const clock = createFakeClock();
    const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, kind: 'timer', clock });
    const granted = track(bucket.getToken(), clock);
    await clock.tickAsync(1000);
    expect(granted.at).toBe(1000);
    bucket.close();
  });

  it('passes option errors through', () => {
    expect(() => TokenBucketFilterFactory.create({ capacity: 0 })).toThrow(RangeError);
    expect(() => TokenBucketFilterFactory.create({ capacity: 1, kind: 'eager' as never })).toThrow(/kind/);
  });
});
