import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The in-process unit tests only: tests of the built package, child processes, browsers and servers
// cannot see Stryker's mutants and would only slow each mutant run down.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      exclude: [
        'test/package.test.ts',
        'test/process.test.ts',
        'test/readme.test.ts',
        'test/examples.test.ts',
        'test/browser.test.ts',
        'test/soak.test.ts',
        'test/bench*.test.ts',
        'test/redis*.test.ts',
        'test/shared*.test.ts',
      ],
      typecheck: { enabled: false },
    },
  }),
);
