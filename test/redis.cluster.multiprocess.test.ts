import { afterAll, describe, it } from 'vitest';
import { clusterTarget } from './redis/cluster.js';
import { expectSharedSchedule } from './redis/multiprocess.js';

// Four Node processes share one bucket through a 3-master Redis Cluster with replicas, in real time,
// for three seconds, through the cluster clients (test/redis/multiprocess.ts, test/redis/worker.mjs).
// Needs the built package (dist/, or $TBF_DIST_DIR) with its redis entry.
const target = await clusterTarget();
if ('skip' in target) console.warn(`\n  SKIPPED test/redis.cluster.multiprocess.test.ts: ${target.skip}\n`);

describe.skipIf('skip' in target)('RedisTokenBucketFilter shared by four processes on a Redis Cluster', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('ioredis Cluster and node-redis createCluster: no window holds more than the schedule allows, no caller lost or doubled', async () => {
    if ('skip' in target) return;
    await expectSharedSchedule('cluster multi-process', { seeds: target.seeds }, ['ioredis', 'node-redis']);
  }, 30_000);

  it('iovalkey Cluster and node-redis createCluster: the same', async () => {
    if ('skip' in target) return;
    await expectSharedSchedule('cluster multi-process (iovalkey)', { seeds: target.seeds }, ['iovalkey', 'node-redis']);
  }, 30_000);
});
