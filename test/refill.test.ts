import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grantNext, refill, stepTime, stepsAt, stepsUntil, type RefillSchedule } from '../src/core/refill.js';

const schedule = (refillInterval: number, origin = 0, capacity = 10, refillTokens = 3): RefillSchedule => ({
  capacity,
  refillTokens,
  refillInterval,
  origin,
});

describe('refill arithmetic (pure)', () => {
  // Rows: [refillInterval, origin, now, expected steps]
  const rows: Array<[number, number, number, number]> = [
    [7, 0, 0, 0],
    [7, 0, 6.999, 0],
    [7, 0, 7, 1],
    [7, 0, 700_000, 100_000],
    [7, 100, 50, 0], // before the origin
    // Step k happens at exactly origin + k × interval as computed in floating point: 3 × 0.1 is
    // 0.30000000000000004, so at 0.3 only 2 steps have happened, although 0.3 / 0.1 rounds to 3.
    [0.1, 0, 0.3, 2],
    [0.1, 0, 0.30000000000000004, 3],
    [0.1, 0, 0.7000000000000001, 7], // 7 × 0.1
    [0.1, 0, 0.7, 6],
    // The other way round: 93.5 / 1.1 rounds up to 85, yet step 85 happens at 93.50000000000001, after
    // 93.5, so only 84 steps have happened (the quotient alone would be one step ahead).
    [1.1, 0, 93.5, 84],
    [1.1, 0, 93.50000000000001, 85],
    [0.3, 0, 5.699999999999999, 18], // 5.699999999999999 / 0.3 is 19; 19 × 0.3 is 5.7
    [2.5, 1.25, 3.75, 1],
    [30 * 86_400_000, 0, 30 * 86_400_000 - 1, 0],
  ];
  it.each(rows)('stepsAt(interval %d, origin %d) at %d is %d', (interval, origin, now, expected) => {
    expect(stepsAt(schedule(interval, origin), now)).toBe(expected);
  });

  it('stepsAt agrees with stepTime for any interval and step (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-3, max: 1e7, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.integer({ min: 0, max: 1e7 }),
        (interval, origin, step) => {
          const s = schedule(interval, origin);
          const at = stepTime(s, step);
          expect(stepsAt(s, at)).toBeGreaterThanOrEqual(step);
          if (stepTime(s, step + 1) > at) expect(stepsAt(s, at)).toBe(step);
        },
      ),
    );
  });

  it('refill caps at capacity and never forms huge products', () => {
    const s = schedule(1, 0, 10, 3);
    expect(refill(s, 0, 0)).toBe(0);
    expect(refill(s, 0, 3)).toBe(9);
    expect(refill(s, 0, 4)).toBe(10);
    expect(refill(s, 10, 1)).toBe(10);
    expect(refill(s, 2, Number.MAX_SAFE_INTEGER)).toBe(10);
    const huge = schedule(1, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(refill(huge, 0, 5)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('stepsUntil is the fewest steps that cover the count', () => {
    const s = schedule(1, 0, 10, 3);
    expect(stepsUntil(s, 5, 5)).toBe(0);
    expect(stepsUntil(s, 4, 5)).toBe(1);
    expect(stepsUntil(s, 0, 10)).toBe(4);
  });

  it('grantNext moves to the grant step and takes the tokens', () => {
    const s = schedule(1, 0, 10, 3);
    const position = { tokens: 1, step: 5 };
    expect(grantNext(s, position, 10)).toBe(8);
    expect(position).toEqual({ tokens: 0, step: 8 });
    expect(grantNext(s, position, 0)).toBe(8);
  });
});
