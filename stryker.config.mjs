// Mutation testing: `npm run mutate` (slow; not part of CI). Mutates the core and checks that the
// in-process unit tests notice. The report lands in reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // The core: the refill arithmetic, the limits, the queue, the shared state machine and the two
  // implementations. (Option validation and messages are covered by table tests; add them with
  // `npx stryker run --mutate "src/options/**/*.ts"` when working there.)
  mutate: ['src/core/**/*.ts', 'src/LazyTokenBucketFilter.ts', 'src/TimerTokenBucketFilter.ts', 'src/clock.ts'],
  ignoreStatic: true,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10000,
  // The initial run of every test with coverage takes 2-3 minutes alone and more on a busy machine;
  // the default 5 minutes ended it at load 4.
  dryRunTimeoutMinutes: 30,
  thresholds: { high: 90, low: 85, break: null },
};
