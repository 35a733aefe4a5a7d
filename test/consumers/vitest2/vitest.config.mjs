import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['suite/vitest/*.test.mjs'],
    // A hang is a failure, not a stuck run.
    testTimeout: 20_000,
  },
});
