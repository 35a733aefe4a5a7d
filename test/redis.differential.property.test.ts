import fc from 'fast-check';
import { suiteTools } from './conformance/suiteTools.js';
import { createFakeClock } from './support/clock.js';
import { describeImplementations } from './support/describeImplementations.js';
import { bucketTarget, expectSameRun, runOps, scenarioArb } from './support/differential.js';
import { implementations, type SyncImplementation } from './support/implementations.js';
import { LazyTokenBucketFilter } from '../src/index.js';

// The Redis entries of the list against the lazy bucket, on the one differential harness, through a
// real server: after every step the harness lets the I/O finish, so each call reaches Redis at the
// fake instant it was made. Fewer runs than in process: every step is a round trip.
const redis = implementations.filter((entry) => entry.surface === 'async');
const lazy = implementations.find((entry): entry is SyncImplementation => entry.name === 'LazyTokenBucketFilter');
if (lazy === undefined) throw new Error('the list has no LazyTokenBucketFilter');

describeImplementations('differential', redis, ({ implementation, create, hooks }) => {
  const { it } = suiteTools(hooks);
  it('grants the same callers at the same instants as the lazy bucket, for any sequence of calls (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ fractional: true, maxOps: 30 }), async ({ options, ops }) => {
        if ('limits' in options) throw new Error('one limit only');
        const lazyClock = createFakeClock();
        const reference = bucketTarget(new LazyTokenBucketFilter({ ...options, clock: lazyClock }));
        const expected = await runOps(reference, lazyClock, ops);
        const clock = createFakeClock();
        const bucket = await create({ ...options, clock });
        const settle = hooks.settle;
        const actual = await runOps(bucketTarget(bucket), clock, ops, settle === undefined ? {} : { settle });
        expectSameRun(actual, expected, implementation.name);
      }),
      { numRuns: 40 },
    );
  });
});
