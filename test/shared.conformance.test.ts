import { tokenBucketFilterSuite } from './conformance/tokenBucketFilterSuite.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';

tokenBucketFilterSuite('SharedTokenBucketFilter', (options) => new SharedTokenBucketFilter(options));
