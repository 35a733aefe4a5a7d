import { LazyTokenBucketFilter, TimerTokenBucketFilter, type MultiLimitOptions } from '../src/index.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import { tokenBucketFilterSuite } from './conformance/tokenBucketFilterSuite.js';
import type { SuiteOptions } from './support/implementations.js';

/**
 * The suite's options as a bucket of two limits: the suite's own, twice (a copy on the same schedule
 * holds the same tokens at every instant, so it never binds more). Every contract must hold through
 * the several-limit code path (`MultiLimit`, one refill timer per limit) exactly as for one limit.
 */
function twice({ clock, ...limit }: SuiteOptions): MultiLimitOptions {
  return { limits: [limit, { ...limit }], clock };
}

tokenBucketFilterSuite('LazyTokenBucketFilter, two limits', (options) => new LazyTokenBucketFilter(twice(options)));
tokenBucketFilterSuite('TimerTokenBucketFilter, two limits', (options) =>
  new TimerTokenBucketFilter(twice(options)).start(),
);
tokenBucketFilterSuite('SharedTokenBucketFilter, two limits', (options) => new SharedTokenBucketFilter(twice(options)));
