import { tokenBucketFilterSuite } from './conformance/tokenBucketFilterSuite.js';
import { keyedViewFactory } from './support/keyedView.js';

// Every key behaves exactly like its own lazy bucket: the whole conformance suite, through one key.
tokenBucketFilterSuite('KeyedTokenBucketFilter, one key (string)', (options) => keyedViewFactory('alice', options));
tokenBucketFilterSuite('KeyedTokenBucketFilter, one key (object)', (options) => keyedViewFactory({ id: 7 }, options));
tokenBucketFilterSuite('KeyedTokenBucketFilter, one key (with maxKeys)', (options) =>
  keyedViewFactory(42, { ...options, maxKeys: 3 }),
);
