// Mutation testing: `npm run mutate` (slow; not part of CI). Mutates the core and checks that the
// in-process unit tests notice. The report lands in reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: [
    'src/core/**/*.ts',
    'src/LazyTokenBucketFilter.ts',
    'src/TimerTokenBucketFilter.ts',
    'src/TokenBucketFilterFactory.ts',
    'src/options.ts',
    'src/clock.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20000,
  thresholds: { high: 90, low: 85, break: null },
};
