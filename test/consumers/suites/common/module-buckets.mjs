// The user's code with its buckets created at module level, as most users write it (ES module).
import { TokenBucketFilterFactory } from 'token-bucket-filter';
import { LIMIT } from './client.mjs';

/**
 * Buckets created at module level, as most users write them: when this module is first imported,
 * before any test installs fake timers.
 */
export const moduleBuckets = {
  lazy: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'lazy' }),
  timer: TokenBucketFilterFactory.create({ ...LIMIT, kind: 'timer' }),
};
