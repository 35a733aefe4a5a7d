import { describe, expect, it } from 'vitest';
import { decide, peekAvailable, peekWait, replay, takeNow } from '../src/core/decide.js';
import { limitStateAt, type LimitState } from '../src/core/limits.js';
import { decisionTable, type TableCase } from './support/decisionTable.js';

/** Replays `tableCase` on the core's own state, a `LimitState`: the reference every backend's runner matches. */
function runOnCore(tableCase: TableCase): void {
  const schedules = tableCase.limits.map(({ capacity, refillTokens, refillInterval }) => ({
    capacity,
    refillTokens,
    refillInterval,
    origin: tableCase.origin,
  }));
  let tail: LimitState = limitStateAt(
    schedules,
    tableCase.limits.map((limit) => limit.initialTokens),
    tableCase.origin,
  );
  /** The tail just before each take step, for give-backs. */
  const before = new Map<number, LimitState>();
  tableCase.steps.forEach((step, index) => {
    const label = `step ${index} (${step.op} at ${step.at})`;
    if (step.op === 'take') {
      before.set(index, tail.clone());
      // takeNow() is decide() with no wait, answered as a boolean: the same answer and the same state
      // after it, on every tail of the table (reservations put some of them after the request's instant).
      const byDecide = tail.clone();
      const byTakeNow = tail.clone();
      const granted = !Number.isNaN(decide(byDecide, step.at, step.count, 0));
      expect(takeNow(byTakeNow, step.at, step.count), `${label}: takeNow`).toBe(granted);
      expect(
        { tokens: byTakeNow.tokensByLimit(), next: byTakeNow.grantTime(1) },
        `${label}: the state after takeNow`,
      ).toEqual({ tokens: byDecide.tokensByLimit(), next: byDecide.grantTime(1) });
      const at = decide(tail, step.at, step.count, step.maxWait);
      const outcome = Number.isNaN(at) ? 'refused' : at <= step.at ? 'granted' : 'reserved';
      expect({ outcome, grantAt: outcome === 'refused' ? undefined : at }, label).toEqual({
        outcome: step.outcome,
        grantAt: step.grantAt,
      });
    } else if (step.op === 'peek') {
      expect(
        { available: peekAvailable(tail.clone(), step.at), wait: peekWait(tail.clone(), step.at, step.count) },
        label,
      ).toEqual({ available: step.available, wait: step.wait });
    } else {
      const from = before.get(step.of)?.clone();
      if (from === undefined) throw new Error(`${label}: step ${step.of} is not a take`);
      const instants: number[] = [];
      const counts = step.keep.map((kept) => {
        const keptStep = tableCase.steps[kept];
        if (keptStep?.op !== 'take') throw new Error(`${label}: step ${kept} is not a take`);
        return keptStep.count;
      });
      replay(from, step.at, counts, instants);
      expect(instants, label).toEqual(step.instants);
      tail = from;
    }
  });
}

describe('the decision table, on the core', () => {
  it.each(decisionTable.map((tableCase) => [tableCase.name, tableCase] as const))('%s', (_name, tableCase) => {
    runOnCore(tableCase);
  });
});

describe('takeNow(), the zero-wait decision as a boolean', () => {
  const schedule = { capacity: 5, refillTokens: 3, refillInterval: 10, origin: 0 };

  it('refuses on a tail that a reservation moved past now, though it holds the tokens there', () => {
    const tail = limitStateAt([schedule], [0], 0);
    expect(decide(tail, 0, 1, Number.POSITIVE_INFINITY)).toBe(10); // reserved: 2 tokens left at 10 ms
    expect(tail.tokens).toBe(2);
    const byDecide = tail.clone();
    expect(Number.isNaN(decide(byDecide, 5, 1, 0))).toBe(true);
    expect(takeNow(tail, 5, 1)).toBe(false);
    expect(tail.tokensByLimit()).toEqual([2]);
    expect(takeNow(tail, 10, 1)).toBe(true); // at the step's instant the tokens are there
    expect(tail.tokensByLimit()).toEqual([1]);
  });

  it('refuses while a pause holds, between refill steps, and grants at its end', () => {
    for (const tail of [limitStateAt([schedule], [5], 0), limitStateAt([schedule, schedule], [5, 5], 0)]) {
      tail.pauseUntil(105); // the step of 100 ms is in force; nothing before 105
      expect(takeNow(tail, 102, 1)).toBe(false);
      expect(Number.isNaN(decide(tail.clone(), 102, 1, 0))).toBe(true);
      expect(takeNow(tail, 105, 1)).toBe(true);
    }
  });
});
