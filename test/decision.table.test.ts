import { describe, expect, it } from 'vitest';
import { decide, peekAvailable, peekWait, replay } from '../src/core/decide.js';
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
