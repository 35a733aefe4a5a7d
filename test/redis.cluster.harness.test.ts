import { describe, expect, it } from 'vitest';
import { command, infoFields, nodeLines } from './redis/clusterAdmin.js';
import { defined } from './support/defined.js';
import { clusterUnavailable, launchCluster } from './redis/cluster.js';

// The cluster harness itself (test/redis/cluster.ts): the tests built on it trust what it reports.
const unavailable = clusterUnavailable();
if (unavailable !== undefined) console.warn(`\n  SKIPPED test/redis.cluster.harness.test.ts: ${unavailable}\n`);

describe.skipIf(unavailable !== undefined)('the Redis Cluster harness', () => {
  it('starts 3 masters with a replica each, every slot served, and stops every node by its pid', async () => {
    const started = performance.now();
    const cluster = await launchCluster();
    const startMs = performance.now() - started;
    try {
      expect(cluster.nodes).toHaveLength(6);
      const lines = nodeLines(await command(defined(cluster.nodes[0]).port, ['CLUSTER', 'NODES']));
      const masters = lines.filter((line) => line.flags.includes('master'));
      const replicas = lines.filter((line) => line.flags.includes('slave'));
      expect(masters).toHaveLength(3);
      expect(replicas).toHaveLength(3);
      expect(new Set(replicas.map((line) => line.master))).toEqual(new Set(masters.map((line) => line.id)));
      expect(masters.flatMap((line) => line.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0)).toBe(16384);
      for (const node of cluster.nodes) {
        const info = infoFields(await command(node.port, ['CLUSTER', 'INFO']));
        expect(info.cluster_state, `node ${node.port}`).toBe('ok');
        expect(info.cluster_known_nodes).toBe('6');
      }
      // A key's slot and its master, as the fault tests find them.
      const slot = await cluster.slotOf('tbf:{x}');
      expect(slot).toBe(await cluster.slotOf('x'));
      const master = await cluster.masterOf(slot);
      expect(masters.map((line) => line.port)).toContain(master);
      expect(replicas.map((line) => line.port)).toContain(await cluster.replicaOf(master));
    } finally {
      await cluster.stop();
    }
    for (const node of cluster.nodes) {
      expect(node.alive(), `node ${node.port}`).toBe(false);
      expect(() => process.kill(node.pid, 0), `pid ${node.pid}`).toThrow();
    }
    console.log(`cluster harness: 6 nodes up and ok in ${Math.round(startMs)} ms`);
  }, 60_000);
});
