import { afterAll, describe, it } from 'vitest';
import { clientKinds } from './redis/clients.js';
import { clusterTarget } from './redis/cluster.js';
import { connectCluster } from './redis/clusterClients.js';
import { expectNothingDuringPause, pauseAcross } from './redis/pauseProcess.js';

// test/redis.pause.multiprocess.test.ts on a 3-master Redis Cluster with replicas, through the cluster
// clients: the pause's notice (a plain PUBLISH, which the cluster delivers from every node) reaches a
// worker subscribed on whichever node its client chose. Needs the built package (dist/).
const target = await clusterTarget();
if ('skip' in target) console.warn(`\n  SKIPPED test/redis.cluster.pause.multiprocess.test.ts: ${target.skip}\n`);

describe.skipIf('skip' in target)('RedisTokenBucketFilter.pause() on a Redis Cluster, across processes', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it.each(clientKinds)(
    'default options (%s cluster): sleepers reserved before the key’s first pause grant nothing during it',
    async (kind) => {
      if ('skip' in target) return;
      const connection = await connectCluster(kind, target.seeds);
      try {
        // Several keys, so that they fall on more than one master.
        for (let i = 0; i < 3; i += 1) {
          expectNothingDuringPause(await pauseAcross({ seeds: target.seeds }, kind, connection.client, {}));
        }
      } finally {
        await connection.close();
      }
    },
    60_000,
  );
});
