import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RedisReplicationError,
  RedisTokenBucketFilter,
  RedisUnavailableError,
  type RedisClientLike,
} from '../src/redis/index.js';
import { clientKinds, connect, type TestClient } from './redis/clients.js';
import { clusterUnavailable, launchCluster, type LaunchedCluster } from './redis/cluster.js';
import { connectCluster } from './redis/clusterClients.js';
import { announceSkip, freePort, launchRedis, ping, redisServerInstalled, type LaunchedRedis } from './redis/server.js';

// The `replicas` opt-in (WAIT after every script call) against real servers: a master with one
// replica started here (`redis-server --replicaof`), and a 3-master cluster with a replica each. A
// replica is frozen with SIGSTOP (and thawed with SIGCONT) to make WAIT fall short.
const installed = redisServerInstalled();
if (!installed) {
  if (process.env.CI === 'true') throw new Error('redis-server is not installed (CI=true: the replica tests must run)');
  announceSkip('test/redis.replicas.test.ts', 'redis-server is not installed (the replica tests start their own)');
}
const noCluster = clusterUnavailable();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A replica started by a test, stopped by its pid. */
interface Replica {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** A redis-server on a free port, to be made a replica (REPLICAOF) by the test. */
async function startReplica(): Promise<Replica> {
  const port = await freePort();
  // A replica writes the RDB of its full sync to its folder: a temporary one, not the working tree.
  const dir = mkdtempSync(join(tmpdir(), 'tbf-replica-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`replica did not start on ${port}`);
    await sleep(20);
  }
  return {
    port,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the master at `url` (through `admin`) sees `count` replicas online. */
async function replicasOnline(admin: TestClient, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = String(await admin.command('INFO', 'replication'));
    const online = (info.match(/state=online/g) ?? []).length;
    if (online >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${online} replicas online: ${info}`);
    await sleep(50);
  }
}

/** Waits until the replica acknowledged a write made now through `admin` (it caught up after a freeze). */
async function caughtUp(admin: TestClient): Promise<void> {
  await admin.command('SET', 'tbf-replicas:probe', String(Date.now()));
  expect(await admin.command('WAIT', '1', '10000')).toBe(1);
}

describe.skipIf(!installed)('replicas: WAIT after every write, on a master and its replica', () => {
  let master: LaunchedRedis | undefined;
  let replica: Replica | undefined;
  const connections: TestClient[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) await connection.close();
    await replica?.stop();
    await master?.stop();
    master = undefined;
    replica = undefined;
  });

  for (const kind of clientKinds) {
    it(`${kind}: grants once the replica acknowledged; refuses as failMode says when WAIT falls short`, async () => {
      master = await launchRedis();
      replica = await startReplica();
      const replicaAdmin = await connect(kind, `redis://127.0.0.1:${replica.port}`);
      connections.push(replicaAdmin);
      await replicaAdmin.command('REPLICAOF', '127.0.0.1', String(master.port));
      const admin = await connect(kind, master.url);
      connections.push(admin);
      await replicasOnline(admin, 1);
      const connection = await connect(kind, master.url);
      connections.push(connection);
      const common = { client: connection.client, capacity: 3, refillInterval: 60_000, breakerCooldown: 0 };

      const bucket = new RedisTokenBucketFilter({
        ...common,
        key: 'acked',
        redisTimeout: 5000,
        replicas: { count: 1, timeout: 3000 }, // a loaded machine: the assertion is the ack, not its speed
      });
      expect(await bucket.tryGetToken()).toBe(true);
      await bucket.getToken();
      // WAIT returned 1: the replica holds the write that granted, before the caller was granted.
      expect(await replicaAdmin.command('EXISTS', bucket.redisKey)).toBe(1);
      expect(await bucket.available()).toBe(1);

      // Two replicas asked of a master that has one: every call fails, naming what WAIT replied.
      const two = new RedisTokenBucketFilter({ ...common, key: 'two', replicas: { count: 2, timeout: 20 } });
      const error = await two.getToken().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RedisUnavailableError);
      const cause = (error as RedisUnavailableError).cause as RedisReplicationError;
      expect(cause).toBeInstanceOf(RedisReplicationError);
      expect([cause.acknowledged, cause.required, cause.timeout]).toEqual([1, 2, 20]);
      expect(await two.tryGetToken()).toBe(false);

      // The replica frozen: WAIT times out with 0; 'closed' refuses, 'open' grants.
      replica.child.kill('SIGSTOP');
      try {
        const frozen = { ...common, key: 'frozen', replicas: { count: 1, timeout: 50 } };
        const closed = new RedisTokenBucketFilter(frozen);
        const refused = await closed.getToken().catch((caught: unknown) => caught);
        expect(((refused as RedisUnavailableError).cause as RedisReplicationError).acknowledged).toBe(0);
        const open = new RedisTokenBucketFilter({ ...frozen, failMode: 'open' });
        expect(await open.tryGetToken()).toBe(true);
        // Without the option nothing waits for the replica.
        const plain = new RedisTokenBucketFilter({ ...common, key: 'plain' });
        expect(await plain.tryGetToken()).toBe(true);
      } finally {
        replica.child.kill('SIGCONT');
      }
      await caughtUp(admin);
      expect(await bucket.tryGetToken()).toBe(true);
      expect(await bucket.tryGetToken()).toBe(false); // 3 taken: refused, and nothing written to wait for
    });
  }

  it('options: replicas is validated like every option', () => {
    const client = { evalsha: () => Promise.resolve(), eval: () => Promise.resolve() } as RedisClientLike;
    const make = (replicas: unknown) => () =>
      new RedisTokenBucketFilter({ client, key: 'k', capacity: 1, replicas } as never);
    expect(make({ count: 1, timeout: 10 })).toThrow(
      /replicas needs an ioredis, iovalkey or node-redis client or cluster/,
    );
    expect(make(1)).toThrow('replicas must be an object { count, timeout }, received 1');
    expect(make({ count: 0, timeout: 10 })).toThrow('replicas.count must be a positive integer, received 0');
    expect(make({ count: 1.5, timeout: 10 })).toThrow('replicas.count must be a positive integer, received 1.5');
    expect(make({ count: 1, timeout: 0 })).toThrow(RangeError);
    expect(make({ count: 1 })).toThrow(
      'replicas.timeout must be a positive integer of ms up to 2147483647, received undefined',
    );
    expect(make({ count: 1, timeout: 10, extra: 1 })).toThrow('Unknown option replicas.extra');
  });
});

describe.skipIf(!installed || noCluster !== undefined)(
  'replicas on a Redis Cluster (3 masters, a replica each)',
  () => {
    let cluster: LaunchedCluster | undefined;
    const connections: TestClient[] = [];
    afterEach(async () => {
      for (const connection of connections.splice(0)) await connection.close();
      await cluster?.stop();
      cluster = undefined;
    });

    for (const kind of clientKinds) {
      it(`${kind}: WAIT goes to the key's own master: freezing its replica refuses that key alone`, async () => {
        cluster = await launchCluster({ nodeTimeout: 5000 });
        await cluster.waitHealthy();
        const opened = cluster;
        const connection = await connectCluster(kind, opened.seeds);
        connections.push(connection);
        const bucketOn = (key: string) =>
          new RedisTokenBucketFilter({
            client: connection.client,
            key,
            prefix: 'tbf-replicas:',
            capacity: 100,
            refillInterval: 60_000,
            redisTimeout: 3000,
            breakerCooldown: 0,
            replicas: { count: 1, timeout: 1000 }, // a loaded machine: the assertion is the ack, not its speed
          });
        const bucket = bucketOn('frozen');
        const masterPort = await opened.masterOf(await opened.slotOf(bucket.redisKey));
        let other: RedisTokenBucketFilter | undefined;
        for (let i = 0; other === undefined && i < 100; i += 1) {
          const candidate = bucketOn(`other-${i}`);
          if ((await opened.masterOf(await opened.slotOf(candidate.redisKey))) !== masterPort) other = candidate;
        }
        if (other === undefined) throw new Error('no key on another master');
        expect(await bucket.tryGetToken()).toBe(true);
        expect(await other.tryGetToken()).toBe(true);
        const replicaPort = await opened.replicaOf(masterPort);
        const node = opened.nodes.find((n) => n.port === replicaPort);
        if (node === undefined) throw new Error(`no node at ${replicaPort}`);
        process.kill(node.pid, 'SIGSTOP');
        try {
          const refused = await bucket.getToken().catch((caught: unknown) => caught);
          expect(((refused as RedisUnavailableError).cause as RedisReplicationError).acknowledged).toBe(0);
          // The other key's master still has its replica: granted (WAIT did not go to the frozen one's master).
          for (let i = 0; i < 5; i += 1) {
            await other.getToken().catch((caught: unknown) => {
              throw new Error(`the other key, call ${i}`, { cause: caught });
            });
          }
        } finally {
          process.kill(node.pid, 'SIGCONT');
        }
        // Thawed, the replica catches up, and the key is granted again.
        const deadline = performance.now() + 10_000;
        while (!(await bucket.tryGetToken()) && performance.now() < deadline) await sleep(100);
        await bucket.getToken();
        bucket.close();
        other.close();
      });
    }
  },
);
