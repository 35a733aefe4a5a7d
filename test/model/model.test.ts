import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { implementations } from '../support/implementations.js';
import { modelKinds, notModelled } from './kinds.js';
import { programArb, type Features } from './program.js';
import { runProgram } from './runner.js';

/**
 * A property-based model check of the README's semantics: random programs drive every in-process
 * kind of bucket and an independent model of the README (test/model/model.ts), each bucket on its own
 * fake clock, and every step is checked against the model. `TBF_MODEL_RUNS=<n>` runs n programs per
 * test instead of the default few; `TBF_MODEL_SEED=<seed>` replays a seed that fast-check printed.
 */
const runsFromEnv = Number(process.env.TBF_MODEL_RUNS);
const runs = (defaultRuns: number): number =>
  Number.isInteger(runsFromEnv) && runsFromEnv > 0 ? runsFromEnv : defaultRuns;
const seed = process.env.TBF_MODEL_SEED === undefined ? {} : { seed: Number(process.env.TBF_MODEL_SEED) };

const none: Features = {
  fractional: false,
  limits: false,
  reconfigure: false,
  reentrant: false,
  badClock: false,
  oddSignals: false,
  long: false,
  negativeZero: false,
  maxOps: 30,
};

/** Families of programs, each exercising some features, with the default number of runs of each. */
const families: readonly (readonly [name: string, features: Features, defaultRuns: number])[] = [
  ['calls, aborts and maxWait on whole-ms intervals', none, 20],
  ['fractional intervals and fractional clock advances', { ...none, fractional: true }, 20],
  ['several limits and reconfigure()', { ...none, fractional: true, limits: true, reconfigure: true }, 20],
  ['re-entrant calls from grants and abort listeners', { ...none, fractional: true, reentrant: true }, 20],
  ['invalid clock readings', { ...none, fractional: true, badClock: true }, 20],
  ['signals through a Proxy and signal-like objects', { ...none, oddSignals: true, reentrant: true }, 20],
  ['initialTokens -0', { ...none, negativeZero: true, maxOps: 10 }, 8],
  ['long intervals and waits longer than the longest timer', { ...none, long: true, maxOps: 15 }, 10],
  [
    'everything at once',
    {
      fractional: true,
      limits: true,
      reconfigure: true,
      reentrant: true,
      badClock: true,
      oddSignals: true,
      long: false,
      negativeZero: false,
      maxOps: 40,
    },
    20,
  ],
];

describe.each(families)('model check: %s', (_name, features, defaultRuns) => {
  for (const kind of modelKinds) {
    it(`${kind.name} does what the model of the README says`, async () => {
      await fc.assert(
        fc.asyncProperty(programArb(features), async (program) => {
          await runProgram(kind, program);
        }),
        { numRuns: runs(defaultRuns), ...seed },
      );
    });
  }

  // While the clock is broken, each kind retries on its own timers (the lazy head timer, the timer
  // kind's refill timers), so their grants after recovery may differ within the retry bound that the
  // model check above holds each of them to: identity is a property of valid readings.
  it('lazy, timer and keyed (one key) buckets are observably identical (valid clock readings)', async () => {
    const [reference, ...others] = modelKinds.filter((kind) => kind.likeLazy);
    if (reference === undefined) throw new Error('no kind to compare');
    await fc.assert(
      fc.asyncProperty(programArb({ ...features, badClock: false }), async (program) => {
        const expected = await runProgram(reference, program, false);
        for (const kind of others) {
          const log = await runProgram(kind, program, false);
          expect(log, `${kind.name} against ${reference.name}`).toEqual(expected);
        }
      }),
      { numRuns: runs(defaultRuns), ...seed },
    );
  });
});

describe('the model check covers the implementation list', () => {
  it('drives every entry of test/support/implementations.ts that it can, and says why not for the others', () => {
    const names = modelKinds.map((kind) => kind.name);
    for (const entry of implementations) {
      const reason = notModelled(entry);
      if (reason === undefined) expect(names, entry.name).toContain(entry.name);
      else {
        expect(names).not.toContain(entry.name);
        console.warn(`  not in the model check: ${entry.name}: ${reason}`);
      }
    }
    for (const name of ['LazyTokenBucketFilter', 'TimerTokenBucketFilter', 'KeyedTokenBucketFilter (two keys)']) {
      expect(names).toContain(name);
    }
  });
});
