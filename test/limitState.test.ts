import { describe, expect, it } from 'vitest';
import { limitStateAt, MultiLimit, SingleLimit, type LimitState } from '../src/core/limits.js';
import { stepTime, type RefillSchedule } from '../src/core/refill.js';

// The LimitState contract at exact instants, below the buckets: `nextStepAt` is the instant of the
// next step (the early exit of every bucket's hot path reads it), and one schedule gives the fast
// `SingleLimit`.

const every100: RefillSchedule = { capacity: 4, refillTokens: 1, refillInterval: 100, origin: 0 };
const every30: RefillSchedule = { capacity: 9, refillTokens: 3, refillInterval: 30, origin: 5 };

describe('LimitState.nextStepAt is the instant of the next step', () => {
  // Rows: [what, state, expected nextStepAt]
  const rows: Array<[string, () => LimitState, number]> = [
    ['a new SingleLimit at step 0', () => new SingleLimit(every100, 0, 0), 100],
    ['a new SingleLimit at step 3', () => new SingleLimit(every100, 2, 3), 400],
    [
      'a SingleLimit advanced to 250 (step 2)',
      () => {
        const limit = new SingleLimit(every100, 0, 0);
        limit.advance(250);
        return limit;
      },
      300,
    ],
    [
      'a SingleLimit advanced to exactly a step instant (700)',
      () => {
        const limit = new SingleLimit(every100, 0, 0);
        limit.advance(700);
        return limit;
      },
      800,
    ],
    ['limitStateAt 250 on one schedule', () => limitStateAt([every100], [0], 250), 300],
    // Steps of `every30` at 35, 65, 95, ...; of `every100` at 100, 200, ...: the earlier one counts.
    ['limitStateAt 70 on two schedules', () => limitStateAt([every100, every30], [0, 0], 70), 95],
    ['limitStateAt 190 on two schedules', () => limitStateAt([every100, every30], [0, 0], 190), 200],
    [
      'a MultiLimit after a grant reserved at a later step',
      () => {
        const limits = limitStateAt([every100, every30], [0, 0], 0);
        limits.grantNext(2); // every100 holds 2 at 200, every30 holds 3 at 35: granted at 200
        return limits;
      },
      215, // every30 moved to its step at 185 (6 steps: capped at 9, minus 2), its next is 215
    ],
  ];
  it.each(rows)('%s', (_what, state, expected) => {
    expect(state().nextStepAt).toBe(expected);
  });

  it('a MultiLimit grant moves each limit to the step in force at the grant instant', () => {
    const limits = limitStateAt([every100, every30], [0, 0], 0);
    expect(limits.grantNext(2)).toBe(200);
    expect(limits.tokensByLimit()).toEqual([0, 7]);
    expect(limits.grantTime(1)).toBe(stepTime(every100, 3));
  });
});

describe('limitStateAt', () => {
  it('builds a SingleLimit, the fast case, for one schedule and a MultiLimit for several', () => {
    const one = limitStateAt([every100], [2], 0);
    expect(one).toBeInstanceOf(SingleLimit);
    expect(one.tokensByLimit()).toEqual([2]);
    const two = limitStateAt([every100, every30], [2, 9], 0);
    expect(two).toBeInstanceOf(MultiLimit);
    expect(two.tokensByLimit()).toEqual([2, 9]);
  });
});
