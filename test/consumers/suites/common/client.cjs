'use strict';
// The user's code under test, as a CommonJS module: a client whose every request first awaits a token.
const { TokenBucketFilterFactory } = require('token-bucket-filter');

/** The provider's limit, as in the lesson: one request a second, bursts of one. */
const LIMIT = { capacity: 1, refillTokens: 1, refillInterval: 1000 };

/** createClient returns a client that awaits a token from `bucket` before each `transport(request)`. */
function createClient(bucket, transport) {
  return {
    async request(request) {
      await bucket.getToken();
      return transport(request);
    },
  };
}

/**
 * Buckets created at module level, as most users write them: when this module is first required,
 * before any test installs fake timers.
 */
const moduleBuckets = {
  lazy: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'lazy' }),
  timer: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'timer' }),
};

module.exports = { LIMIT, createClient, moduleBuckets };
