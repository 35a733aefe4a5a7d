import fc from 'fast-check';
import type {
  MultiLimitOptions,
  ReconfigureOptions,
  TokenBucketFilter,
  TokenBucketOptions,
  TokenBucketStats,
} from '../src/index.js';
import { suiteTools } from './conformance/suiteTools.js';
import { createFakeClock } from './support/clock.js';
import { describeImplementations } from './support/describeImplementations.js';
import { bucketTarget, expectSameRun, runOps, scenarioArb, type Scenario } from './support/differential.js';
import { implementations, type SyncImplementation } from './support/implementations.js';

// Every in-process entry of the list against the lazy bucket, on the one differential harness: for any
// sequence of calls (aborts, maxWait, fractional intervals included), the same callers are granted at
// the same instants and every answer is the same. Entries with several limits and reconfigure() also
// run scenarios of up to three limits that reconfigure, where waitTime() must predict the real grant.
const sync = implementations.filter((entry): entry is SyncImplementation => entry.surface === 'sync');
const reference = sync.find((entry) => entry.name === 'LazyTokenBucketFilter');
if (reference === undefined) throw new Error('the list has no LazyTokenBucketFilter');

type Bucket = TokenBucketFilter & {
  reconfigure?: (options: ReconfigureOptions) => unknown;
  stats?: () => TokenBucketStats;
};

/** Runs `scenario` on a new bucket of `entry`; `stats` only where the bucket under test has them too. */
async function run(entry: SyncImplementation, { options, ops }: Scenario, stats: boolean, predict: boolean) {
  const clock = createFakeClock();
  const bucket = entry.create({ ...(options as TokenBucketOptions | MultiLimitOptions), clock }) as Bucket;
  const target = bucketTarget(bucket);
  if (!stats) delete target.stats;
  return runOps(target, clock, ops, { predict });
}

describeImplementations('differential', sync, ({ implementation, hooks }) => {
  const { it } = suiteTools(hooks);
  const entry = implementation as SyncImplementation;
  const probe = entry.create({ capacity: 1, clock: createFakeClock() }) as Bucket;
  const stats = typeof probe.stats === 'function';
  const reconfigure = entry.features.limits && typeof probe.reconfigure === 'function';
  probe.close();

  it('grants the same callers at the same instants as the lazy bucket, for any sequence of calls (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ fractional: true }), async (scenario) => {
        const expected = await run(reference, scenario, stats, false);
        expectSameRun(await run(entry, scenario, stats, false), expected, entry.name);
      }),
      { numRuns: 150 },
    );
  });

  if (reconfigure) {
    it('and with several limits and reconfigure(), waitTime() predicting the real grant (differential)', async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb({ fractional: true, maxLimits: 3, reconfigure: true }), async (scenario) => {
          const expected = await run(reference, scenario, stats, true);
          expectSameRun(await run(entry, scenario, stats, true), expected, entry.name);
        }),
        { numRuns: 150 },
      );
    });
  }
});
