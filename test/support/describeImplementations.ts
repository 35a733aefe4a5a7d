import { afterAll, beforeAll, describe, it } from 'vitest';
import type { SuiteBucket, SuiteHooks } from '../conformance/suiteTools.js';
import { clusterUnavailable } from '../redis/cluster.js';
import { fakeTimeUnavailable, REDIS_URL_VARIABLE, redisServerInstalled } from '../redis/server.js';
import {
  hooksOf,
  openImplementation,
  type Harness,
  type Implementation,
  type Server,
  type SuiteOptionsMaybeClock,
  type TestArea,
} from './implementations.js';

/**
 * Why `server` cannot be had on this machine, or undefined when it can. Under `CI=true` a missing tool
 * is an error, never a skip: CI installs them all (scripts/ci-redis.sh, .ci/run).
 */
export function serverUnavailable(server: Server): string | undefined {
  let reason: string | undefined;
  if (server === 'redis') {
    const url = process.env[REDIS_URL_VARIABLE];
    if ((url === undefined || url === '') && !redisServerInstalled()) {
      reason = `${REDIS_URL_VARIABLE} is unset and redis-server is not installed`;
    }
  } else if (server === 'fake-time redis') {
    reason = fakeTimeUnavailable();
  } else if (server === 'redis cluster') {
    reason = clusterUnavailable();
  }
  if (reason !== undefined && process.env.CI === 'true') {
    throw new Error(`${server} needed and not available under CI=true: ${reason} (see scripts/ci-redis.sh)`);
  }
  return reason;
}

/** What a test body is given for one entry: its factory and hooks, usable inside its tests. */
export interface Opened {
  readonly implementation: Implementation;
  /**
   * Builds a bucket of the entry (call inside a test: the entry is opened before its tests); without
   * a `clock`, the bucket uses the default one (globalThis, looked up when used).
   */
  readonly create: (options: SuiteOptionsMaybeClock) => SuiteBucket | Promise<SuiteBucket>;
  readonly hooks: SuiteHooks;
}

/**
 * One `describe` block per entry of `entries` that applies to `area`, opened before its tests and closed
 * after. An entry skipped in `area`, or whose server this machine lacks, shows as one skipped test whose
 * title says why, and the reason is printed.
 */
export function describeImplementations(
  area: TestArea,
  entries: readonly Implementation[],
  body: (opened: Opened) => void,
): void {
  for (const implementation of entries) {
    const reason = implementation.skip[area] ?? serverUnavailable(implementation.server);
    if (reason !== undefined) {
      console.warn(`  SKIPPED ${implementation.name} (${area}): ${reason}`);
      describe(implementation.name, () => {
        it.skip(`skipped: ${reason}`, () => undefined);
      });
      continue;
    }
    describe(implementation.name, () => {
      let harness: Harness | undefined;
      beforeAll(async () => {
        harness = await openImplementation(implementation);
      }, 30_000);
      afterAll(async () => {
        await harness?.close();
      }, 30_000);
      const opened = (): Harness => {
        if (harness === undefined) throw new Error(`${implementation.name} is not open (used outside a test?)`);
        return harness;
      };
      body({
        implementation,
        create: (options) => opened().create(options),
        hooks: hooksOf(implementation, () => harness),
      });
    });
  }
}
