import type { Clock } from '../../src/clock.js';
import {
  LazyTokenBucketFilter,
  TimerTokenBucketFilter,
  type TokenBucketFilter,
  type TokenBucketOptions,
} from '../../src/index.js';

/** Options every conformance test passes: a clock is always injected. */
export type SuiteOptions = TokenBucketOptions & { clock: Clock };

/** Builds a ready-to-use bucket of one implementation. */
export type BucketFactory = (options: SuiteOptions) => TokenBucketFilter;

/** Every in-process implementation, ready to use (timer buckets started). */
export const implementations: ReadonlyArray<readonly [name: string, create: BucketFactory]> = [
  ['LazyTokenBucketFilter', (options) => new LazyTokenBucketFilter(options)],
  ['TimerTokenBucketFilter', (options) => new TimerTokenBucketFilter(options).start()],
];
