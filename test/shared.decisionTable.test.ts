import { describe, expect, it } from 'vitest';
import { decide, peekAvailable, peekWait, replay } from '../src/core/decide.js';
import { createBuffer } from '../src/shared/layout.js';
import type { Snapshot } from '../src/shared/SharedLimits.js';
import { SharedState } from '../src/shared/SharedState.js';
import { decisionTable, type TableCase } from './support/decisionTable.js';

/**
 * Replays `tableCase` on the shared bucket's encoding: the state lives in a `SharedArrayBuffer` laid
 * out as the bucket lays it out, and every step is one critical section of the bucket (take the lock,
 * read the state, decide with the core at the step's explicit instant, write it back, release). Two
 * `SharedState`s on one buffer stand for two threads and take turns, so the state crosses "threads"
 * only through shared memory; a give-back restores the state stored just before the given-back take,
 * as a thread does with the snapshot its reservation keeps.
 */
function runOnSharedState(tableCase: TableCase): void {
  const buffer = createBuffer(tableCase.limits, tableCase.origin, true);
  const threads = [new SharedState(buffer), new SharedState(buffer)];
  const before = new Map<number, Snapshot>();
  tableCase.steps.forEach((step, index) => {
    const label = `step ${index} (${step.op} at ${step.at})`;
    const store = threads[index % 2] as SharedState;
    store.lock();
    try {
      if (step.op === 'take') {
        const tail = store.read();
        before.set(index, store.stored());
        const at = decide(tail, step.at, step.count, step.maxWait);
        const outcome = Number.isNaN(at) ? 'refused' : at <= step.at ? 'granted' : 'reserved';
        if (outcome !== 'refused') store.write();
        expect({ outcome, grantAt: outcome === 'refused' ? undefined : at }, label).toEqual({
          outcome: step.outcome,
          grantAt: step.grantAt,
        });
      } else if (step.op === 'peek') {
        // A look writes nothing: both peeks read the state as stored.
        const available = peekAvailable(store.read(), step.at);
        const wait = peekWait(store.read(), step.at, step.count);
        expect({ available, wait }, label).toEqual({ available: step.available, wait: step.wait });
      } else {
        const from = before.get(step.of);
        if (from === undefined) throw new Error(`${label}: step ${step.of} is not a take`);
        const counts = step.keep.map((kept) => {
          const keptStep = tableCase.steps[kept];
          if (keptStep?.op !== 'take') throw new Error(`${label}: step ${kept} is not a take`);
          return keptStep.count;
        });
        const instants: number[] = [];
        replay(store.restore(from), step.at, counts, instants);
        store.write();
        expect(instants, label).toEqual(step.instants);
      }
    } finally {
      store.unlock();
    }
  });
}

describe('the decision table, on the shared bucket’s encoding (SharedArrayBuffer state under its lock)', () => {
  it.each(decisionTable.map((tableCase) => [tableCase.name, tableCase] as const))('%s', (_name, tableCase) => {
    runOnSharedState(tableCase);
  });

  it('the state round-trips through shared memory bit for bit (a third of a ms, an epoch origin)', () => {
    const origin = 1_764_633_600_000.25;
    const buffer = createBuffer(
      [{ capacity: 2, refillTokens: 1, refillInterval: 1 / 3, initialTokens: 0 }],
      origin,
      false,
    );
    const writer = new SharedState(buffer);
    const reader = new SharedState(buffer);
    writer.lock();
    expect(decide(writer.read(), origin, 2, Infinity)).toBe(origin + 2 / 3);
    writer.write();
    writer.unlock();
    reader.lock();
    expect(reader.stored()).toEqual([0, 2]);
    expect(peekWait(reader.read(), origin, 1)).toBe(origin + 3 * (1 / 3) - origin); // step 3, read back in another "thread"
    reader.unlock();
  });
});
