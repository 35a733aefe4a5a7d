'use strict';
// The user's code with its buckets created at module level, as most users write it (CommonJS).
const { TokenBucketFilterFactory } = require('token-bucket-filter');
const { LIMIT } = require('./client.cjs');

/**
 * Buckets created at module level, as most users write them: when this module is first required,
 * before any test installs fake timers.
 */
const moduleBuckets = {
  lazy: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'lazy' }),
  timer: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'timer' }),
};

module.exports = { moduleBuckets };
