import { afterAll, describe, expect, it } from 'vitest';
import { createCluster } from 'redis';
import { RedisKeyedTokenBucketFilter } from '../src/redis/index.js';
import { clusterTarget } from './redis/cluster.js';

// The "Redis Cluster" example of the README, as written there (imports aside), against a cluster of
// this file (or TBF_REDIS_CLUSTER_URL). The example reads REDIS_CLUSTER_URL.
const target = await clusterTarget();
if ('skip' in target) console.warn(`\n  SKIPPED test/redis.cluster.readme.test.ts: ${target.skip}\n`);
else process.env.REDIS_CLUSTER_URL = `redis://${target.seeds[0]?.host}:${target.seeds[0]?.port}`;

describe.skipIf('skip' in target)('README: Redis Cluster', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('a keyed store on a cluster (node-redis createCluster)', async () => {
    const cluster = await createCluster({
      rootNodes: [{ url: process.env.REDIS_CLUSTER_URL ?? 'redis://127.0.0.1:7000' }],
      defaults: { disableOfflineQueue: true }, // every node's connection: fail at once during an outage
    }).connect();

    // Each user's bucket is the key api-user:{<id>}, on the master of <id>'s slot.
    const perUser = new RedisKeyedTokenBucketFilter({
      client: cluster,
      prefix: 'api-user:',
      capacity: 5,
      refillInterval: 200,
    });
    const took = await perUser.tryGetToken('user-42');
    console.log(took); // true

    perUser.close();
    await cluster.close();
    expect(took).toBe(true);
  });
});
