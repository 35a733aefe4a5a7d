import { describe, expect, it } from 'vitest';
import { KeyedTokenBucketFilter } from '../../src/index.js';
import { createFakeClock, flushPromises, track } from '../support/clock.js';
import { BadReadingClock } from './badClock.js';
import { modelKinds } from './kinds.js';

/** Minimal reproductions of what the model check found, one per bug, on every kind it concerns. */

describe.each(modelKinds.filter((kind) => kind.keyCount === 1))('%s', (kind) => {
  const cases: readonly (readonly [string, (signal: AbortSignal) => readonly [AbortSignal, AbortSignal]])[] = [
    ['the signal, then a Proxy of it', (signal) => [signal, new Proxy(signal, {})]],
    ['a Proxy of the signal, then the signal', (signal) => [new Proxy(signal, {}), signal]],
    ['the signal, then an object delegating to it', (signal) => [signal, delegatingTo(signal)]],
  ];
  it.each(cases)(
    'a caller whose signal aborts together with the caller ahead of it is rejected, not granted (%s)',
    async (_name, signals) => {
      const fake = createFakeClock();
      const bucket = kind.create({ capacity: 2, initialTokens: 1, clock: fake });
      const controller = new AbortController();
      const reason = new Error('user went away');
      const [first, second] = signals(controller.signal);
      const ahead = track(bucket.getToken(0, 2, { signal: first }), fake);
      const behind = track(bucket.getToken(0, 1, { signal: second }), fake);
      controller.abort(reason);
      await flushPromises();
      expect(ahead.state).toBe('rejected');
      // Its signal was aborted while it waited: README, "signal.reason (untouched)".
      expect(behind).toMatchObject({ state: 'rejected', error: reason });
      expect(bucket.available(0)).toBe(1);
      bucket.close();
    },
  );
});

describe('KeyedTokenBucketFilter', () => {
  it('available(key) of a key without a bucket reports the last state on an invalid reading, not 0', () => {
    const clock = new BadReadingClock(createFakeClock());
    const keyed = new KeyedTokenBucketFilter<string>({ capacity: 2, clock });
    expect(keyed.available('a')).toBe(2);
    // README: "available, pending and stats() report the state as of the last valid reading".
    expect(clock.withReading(Number.NaN, () => keyed.available('a'))).toBe(2);
    keyed.close();
  });
});

/** A hand-made signal that delegates everything to `signal`. */
function delegatingTo(signal: AbortSignal): AbortSignal {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason(): unknown {
      return (signal as { reason: unknown }).reason;
    },
    addEventListener: (type: string, listener: () => void) => {
      signal.addEventListener(type, listener);
    },
    removeEventListener: (type: string, listener: () => void) => {
      signal.removeEventListener(type, listener);
    },
  } as unknown as AbortSignal;
}
