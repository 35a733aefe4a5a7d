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

describe('SingleLimit.stepAt is the instant of its step after every operation', () => {
  // grantsNow() reads stepAt instead of computing stepTime(step) on the hot path: any operation that
  // moves the step without it would grant before a reserved step, or refuse after one.
  type Operation = (limit: SingleLimit) => void;
  const operations: Array<[string, Operation]> = [
    ['advance to 250', (limit) => limit.advance(250)],
    ['advance to exactly 700', (limit) => limit.advance(700)],
    ['advance backwards to 10', (limit) => limit.advance(10)],
    ['advanceTo 430', (limit) => limit.advanceTo(430)],
    ['grantNext of 3 (a later step)', (limit) => void limit.grantNext(3)],
    ['grantNext of 1', (limit) => void limit.grantNext(1)],
    ['take 1 when held', (limit) => (limit.tokens >= 1 ? limit.take(1) : undefined)],
    ['pauseUntil 1,234', (limit) => limit.pauseUntil(1234)],
    ['place at step 9', (limit) => limit.place(2, 9)],
  ];

  it.each(operations)('after %s, alone and after every other operation', (_, operation) => {
    for (const [, before] of [['nothing', () => undefined] as [string, Operation], ...operations]) {
      const limit = new SingleLimit(every100, 1, 2);
      before(limit);
      operation(limit);
      expect(limit.stepAt).toBe(stepTime(every100, limit.step));
      const copy = limit.clone();
      expect(copy.stepAt).toBe(limit.stepAt);
    }
  });

  it('grantsNow() refuses before the step a grant reserved, and grants from its instant on', () => {
    const limit = new SingleLimit(every100, 0, 0);
    expect(limit.grantNext(2)).toBe(200); // a projection standing at step 2, holding 0
    limit.tokens = 1; // as if a give-back left a token at that step
    expect(limit.grantsNow(1, 199)).toBe(false);
    expect(limit.grantsNow(1, 200)).toBe(true);
  });
});
