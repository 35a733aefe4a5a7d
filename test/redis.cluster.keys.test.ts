import { afterAll, describe, expect, it } from 'vitest';
import { RedisKeyedTokenBucketFilter } from '../src/redis/index.js';
import { clientKinds } from './redis/clients.js';
import { clusterTarget } from './redis/cluster.js';
import { command, nodeLines } from './redis/clusterAdmin.js';
import { connectCluster } from './redis/clusterClients.js';

// Where a keyed store's buckets land on a Redis Cluster: the braces around each bucket's name are the
// key's hash tag, so buckets spread over the masters by name; braces in the prefix come first and
// become the hash tag of every key, which puts every bucket on one master (README, "Redis Cluster").
const target = await clusterTarget();
if ('skip' in target) console.warn(`\n  SKIPPED test/redis.cluster.keys.test.ts: ${target.skip}\n`);

const KEYS = 30;

/** How many keys starting with `prefix` each master holds (SCAN on each), by port. */
async function keysPerMaster(seedPort: number, prefix: string): Promise<number[]> {
  const masters = nodeLines(await command(seedPort, ['CLUSTER', 'NODES'])).filter(
    (line) => line.flags.includes('master') && line.slots.length > 0,
  );
  return Promise.all(
    masters.map(async ({ port }) => {
      let cursor = '0';
      let count = 0;
      do {
        const [next, keys] = (await command(port, ['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
          string,
          string[],
        ];
        cursor = next;
        count += keys.length;
      } while (cursor !== '0');
      return count;
    }),
  );
}

describe.skipIf('skip' in target)('RedisKeyedTokenBucketFilter keys on a Redis Cluster', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  for (const kind of clientKinds) {
    it(`${kind}: ${KEYS} buckets spread over every master; a prefix with braces puts them all on one`, async () => {
      if ('skip' in target) return;
      const connection = await connectCluster(kind, target.seeds);
      const seed = target.seeds[0]?.port ?? 0;
      try {
        const run = `${process.pid}-${Date.now()}-${kind}`;
        const spread = `tbf-spread:${run}:`;
        const tagged = `{tbf-one-${run}}:`;
        for (const prefix of [spread, tagged]) {
          const store = new RedisKeyedTokenBucketFilter({ client: connection.client, prefix, capacity: 2 });
          const granted = await Promise.all(Array.from({ length: KEYS }, (_, i) => store.tryGetToken(`user-${i}`)));
          expect(granted.every(Boolean)).toBe(true);
          store.close();
        }
        const spreadCounts = await keysPerMaster(seed, spread);
        const taggedCounts = await keysPerMaster(seed, tagged);
        console.log(
          `cluster keys, ${kind}: per master ${spreadCounts.join('/')}; with braces in the prefix ${taggedCounts.join('/')}`,
        );
        expect(spreadCounts.reduce((a, b) => a + b, 0)).toBe(KEYS);
        expect(spreadCounts.every((count) => count > 0)).toBe(true);
        expect(taggedCounts.filter((count) => count > 0)).toEqual([KEYS]);
      } finally {
        await connection.close();
      }
    });
  }
});
