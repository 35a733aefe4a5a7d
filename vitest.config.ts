import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The Redis store's tests run when a server is given (TBF_REDIS_URL) or can be started; locally,
// without either, they skip, and the Redis code is then left out of the coverage thresholds.
const redisTestsRun =
  process.env.TBF_REDIS_URL !== undefined ||
  process.env.CI !== undefined ||
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; in tests that name means the source.
    alias: { 'token-bucket-filter': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.test.json',
    },
    testTimeout: 20_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // Files of re-exports only; everything with code counts.
      exclude: [
        'src/index.ts',
        'src/shared/index.ts',
        'src/redis/index.ts',
        'src/redis/AsyncTokenBucketFilter.ts', // an interface: no code
        ...(redisTestsRun ? [] : ['src/redis/**']),
      ],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 95, branches: 90 },
    },
  },
});
