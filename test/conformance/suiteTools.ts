import { expect, it as vitestIt } from 'vitest';
import type { GetTokenOptions, ReconfigureOptions, TokenBucketStats } from '../../src/index.js';
import { flushPromises, type FakeClock } from '../support/clock.js';
import type { SuiteOptions } from '../support/implementations.js';

/**
 * What the suite needs of a bucket: a `TokenBucketFilter`, or a view of an async store (such as the
 * Redis one) whose `available`, `tryGetToken()` and `waitTime()` answer with promises.
 */
export interface SuiteBucket extends Disposable {
  readonly capacity: number;
  readonly available: number | Promise<number>;
  readonly pending: number;
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
  tryGetToken(count?: number): boolean | Promise<boolean>;
  waitTime(count?: number): number | Promise<number>;
  close(): void;
  /** The bucket's `stats()`, where it has one (`features.stats`). */
  stats?(): TokenBucketStats;
  /** The bucket's `reconfigure()`, where it has one (`features.reconfigure`); a promise for an async store. */
  reconfigure?(options: ReconfigureOptions): unknown;
  /** The bucket's `pause()`, where it has one (`features.pause`); a promise for an async store. */
  pause?(ms: number): unknown;
}

/**
 * Builds a ready-to-use bucket for the suite; every `BucketFactory` is one. A factory that must do I/O
 * first (a Redis view starting from a given state) returns a promise, but throws invalid options at once.
 */
export type SuiteFactory = (options: SuiteOptions) => SuiteBucket | Promise<SuiteBucket>;

/** How the suite adapts to a store whose operations do real I/O. All optional; in-process buckets need none. */
export interface SuiteHooks {
  /** `tryGetToken()`/`waitTime()` return promises, so bad input rejects instead of throwing. */
  async?: boolean;
  /** Awaited before and after every fake-clock advance and after every flush: lets real I/O finish. */
  settle?: () => Promise<void>;
  /** Tests that cannot apply to this store, by exact title (an `it.each` one by its template), each with the reason. */
  skip?: ReadonlyMap<string, string>;
  /**
   * Tests that fail on this store because of a known bug, by exact title (or `it.each` template), each
   * with the bug: they run as `it.fails`, so that fixing the bug turns them red until the entry is removed.
   */
  fails?: ReadonlyMap<string, string>;
  /** Timeout of each test, in ms (vitest's default when undefined). */
  timeout?: number;
}

/** The helpers every conformance suite uses, adapted to a store by its hooks. */
export interface SuiteTools {
  /** `it`, skipping the titles in `hooks.skip`, expecting those in `hooks.fails` to fail, with `hooks.timeout`. */
  it: ((title: string, fn: () => unknown) => void) & { each: typeof vitestIt.each };
  /** Advances the fake clock by `ms`, letting real I/O (if any) finish before and after. */
  tick: (clock: FakeClock, ms: number) => Promise<void>;
  /** Lets every already-settled promise callback run, and real I/O (if any) finish. */
  flush: () => Promise<void>;
  /** Expects `call` to throw `expected` synchronously, or, for an async store, to return a promise rejecting with it. */
  expectFailure: (call: () => unknown, expected: new (...args: never[]) => Error) => Promise<void>;
}

/** Builds the {@link SuiteTools} of a store with `hooks`. */
export function suiteTools(hooks: SuiteHooks): SuiteTools {
  /** The vitest `it` for `title`: skipped, expected to fail (a known bug), or plain. */
  const pick = (title: string): { run: typeof vitestIt.skip; title: string } => {
    const skip = hooks.skip?.get(title);
    if (skip !== undefined) return { run: vitestIt.skip, title: `${title} [skipped: ${skip}]` };
    const bug = hooks.fails?.get(title);
    if (bug !== undefined) return { run: vitestIt.fails, title: `${title} [fails, known bug: ${bug}]` };
    return { run: vitestIt, title };
  };
  const it = Object.assign(
    (title: string, fn: () => unknown): void => {
      const { run, title: shown } = pick(title);
      run(shown, fn, hooks.timeout);
    },
    {
      each: ((cases: readonly unknown[]) => (title: string, fn: (...args: never[]) => unknown) => {
        const { run, title: shown } = pick(title);
        run.each(cases as unknown[])(shown, fn as (...args: unknown[]) => Promise<void>, hooks.timeout);
      }) as unknown as typeof vitestIt.each,
    },
  );
  return {
    it,
    async tick(clock, ms) {
      if (hooks.settle !== undefined) await hooks.settle();
      await clock.tickAsync(ms);
      if (hooks.settle !== undefined) await hooks.settle();
    },
    async flush() {
      await flushPromises();
      if (hooks.settle !== undefined) await hooks.settle();
    },
    async expectFailure(call, expected) {
      if (hooks.async !== true) {
        expect(call).toThrow(expected);
        return;
      }
      let result: unknown;
      expect(() => (result = call())).not.toThrow();
      await expect(result).rejects.toThrow(expected);
    },
  };
}
