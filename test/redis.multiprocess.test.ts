import { afterAll, describe, it } from 'vitest';
import { expectSharedSchedule } from './redis/multiprocess.js';
import { announceSkip, redisTarget } from './redis/server.js';

// Four Node processes share one bucket through a real Redis, in real time, for three seconds
// (test/redis/multiprocess.ts). Needs the built package (dist/, or $TBF_DIST_DIR) with its redis entry.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.multiprocess.test.ts', target.skip);

describe.skipIf('skip' in target)('RedisTokenBucketFilter shared by four processes', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('never lets any window hold more than the schedule allows, and loses or doubles no caller', async () => {
    if ('skip' in target) return;
    await expectSharedSchedule('multi-process', { url: target.url }, ['ioredis', 'node-redis']);
  }, 30_000);
});
