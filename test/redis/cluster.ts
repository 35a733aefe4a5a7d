import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command, infoFields, nodeLines, type NodeLine, type Reply } from './clusterAdmin.js';
import { defined } from '../support/defined.js';
import { freePort, ping, redisServerInstalled } from './server.js';

/**
 * How the Redis Cluster tests find a cluster. `TBF_REDIS_CLUSTER_URL` names one to use (comma-separated
 * seed URLs, `redis://127.0.0.1:7000,redis://127.0.0.1:7001`); without it each test file starts its
 * own (see {@link launchCluster}) when `redis-server` is on the PATH. Under `CI=true` a missing server
 * fails the run; locally the tests skip, saying why. The fault tests always start their own cluster.
 */
export const CLUSTER_URL_VARIABLE = 'TBF_REDIS_CLUSTER_URL';

/** A seed node of a cluster, as both cluster clients take it. */
export interface Seed {
  readonly host: string;
  readonly port: number;
}

/** One redis-server of a launched cluster. */
export interface ClusterNode {
  readonly port: number;
  /** The cluster bus port (`cluster-port`), also on 127.0.0.1. */
  readonly busPort: number;
  readonly pid: number;
  /** Whether the process is still running. */
  alive(): boolean;
}

/** A Redis Cluster this test process started: its nodes, the admin operations the fault tests need, stop(). */
export interface LaunchedCluster {
  readonly nodes: readonly ClusterNode[];
  readonly seeds: readonly Seed[];
  /** Sends one command to the node at `port` (a connection of its own: test/redis/clusterAdmin.ts). */
  command(port: number, ...args: string[]): Promise<Reply>;
  /** The hash slot of `key` (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The port of the master serving `slot`, as a live node sees it. */
  masterOf(slot: number): Promise<number>;
  /** The port of a live replica of the master at `masterPort`. */
  replicaOf(masterPort: number): Promise<number>;
  /**
   * CLUSTER FAILOVER on the replica at `port`; resolves once it is a master, the cluster is ok, and
   * every live node sees it serving its slots.
   */
  failover(port: number): Promise<void>;
  /** Kills the node at `port` with SIGKILL (no shutdown, no last write to its replica). */
  kill(port: number): void;
  /**
   * Moves `slot` (with its keys) to the master at `to`: IMPORTING on `to`, MIGRATING on the owner,
   * MIGRATE of every key, then, after `askWindow` ms in which the owner answers ASK for the moved keys,
   * SETSLOT NODE on every master; resolves once every live node sees `to` as the owner.
   */
  migrateSlot(slot: number, to: number, askWindow?: number): Promise<void>;
  /** Resolves once every live node says `cluster_state:ok` and every slot is served by a live master. */
  waitHealthy(timeout?: number): Promise<void>;
  /** Stops every node by its pid (SIGTERM, then SIGKILL after 3 s) and removes their folders. */
  stop(): Promise<void>;
}

/** How {@link launchCluster} builds the cluster. */
export interface ClusterOptions {
  /** Masters; default 3 (the fewest that can elect a replica when one master dies). */
  readonly masters?: number;
  /** Replicas per master; default 1. */
  readonly replicas?: number;
  /** `cluster-node-timeout`, ms; default 1000, so that a dead master's replica takes over in seconds. */
  readonly nodeTimeout?: number;
  /**
   * `cluster-require-full-coverage`; default true (Redis' default): while any slot is unserved, every
   * node answers CLUSTERDOWN for every key. False: the other slots stay served.
   */
  readonly requireFullCoverage?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every redis-server this process started and has not seen exit: killed if the process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ok = await check().catch((error: unknown) => {
      if (error instanceof PortTakenError) throw error;
      return false;
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Started {
  node: ClusterNode;
  child: ChildProcess;
  dir: string;
}

async function startNode(nodeTimeout: number, requireFullCoverage: boolean): Promise<Started> {
  const port = await freePort();
  let busPort = await freePort();
  while (busPort === port) busPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tbf-cluster-'));
  const child = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-port', String(busPort),
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(nodeTimeout),
      '--cluster-allow-replica-migration', 'no',
      '--cluster-require-full-coverage', requireFullCoverage ? 'yes' : 'no',
      '--save', '',
      '--appendonly', 'no',
      '--repl-diskless-sync-delay', '0',
      '--dir', dir,
      '--logfile', join(dir, 'redis.log'),
    ], // prettier-ignore
    { stdio: 'ignore' },
  );
  child.unref();
  running.add(child);
  void exited(child).then(() => running.delete(child));
  const node: ClusterNode = {
    port,
    busPort,
    get pid() {
      return child.pid ?? -1;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  return { node, child, dir };
}

async function stopNode(started: Started): Promise<void> {
  const { child } = started;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited(child);
    clearTimeout(timer);
  }
  rmSync(started.dir, { recursive: true, force: true });
}

function logOf(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8');
  } catch {
    return '(no log)';
  }
}

function logTails(nodes: readonly Started[]): string {
  return nodes
    .map(({ node, dir }) => `--- node ${node.port} (pid ${node.pid}):\n${logOf(dir).split('\n').slice(-8).join('\n')}`)
    .join('\n');
}

/**
 * Starts a Redis Cluster on 127.0.0.1: `masters` masters (the slots split evenly) with `replicas`
 * replicas each, every node its own `redis-server` (Debian's, `--cluster-enabled yes`) on a free port
 * with its own temporary folder, persistence off. It is built without redis-cli, by CLUSTER ADDSLOTSRANGE,
 * MEET and REPLICATE, and ready when every node says `cluster_state:ok`, knows every other node, and
 * every replica's link to its master is up and every node sees it as that master's replica. Rejects (after stopping every node it started) when that
 * takes more than 30 s, with the tail of each node's log. A node that could not bind its port (something
 * else took it between freePort()'s probe and the bind) fails the attempt at once, and the whole cluster
 * is started again on other ports, up to 3 times.
 */
export async function launchCluster(options: ClusterOptions = {}): Promise<LaunchedCluster> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launchOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

/** A node of the cluster being started exited at once, its log saying its port was taken. */
class PortTakenError extends Error {}

async function launchOnce(options: ClusterOptions): Promise<LaunchedCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const nodeTimeout = options.nodeTimeout ?? 1000;
  const requireFullCoverage = options.requireFullCoverage ?? true;
  const started: Started[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((node) => stopNode(node)));
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i += 1)
      started.push(await startNode(nodeTimeout, requireFullCoverage));
    const nodes = started.map(({ node }) => node);
    await Promise.all(
      started.map(({ node, dir }) =>
        waitUntil(
          async () => {
            if (await ping(node.port)) return true;
            if (!node.alive() && logOf(dir).includes('Address already in use')) {
              throw new PortTakenError(`node ${node.port} (bus ${node.busPort}): address already in use`);
            }
            return false;
          },
          `redis-server on ${node.port}`,
          10_000,
        ),
      ),
    );
    const ids = await Promise.all(nodes.map(async (node) => String(await command(node.port, ['CLUSTER', 'MYID']))));
    for (let m = 0; m < masters; m += 1) {
      const first = Math.floor((16384 * m) / masters);
      const last = Math.floor((16384 * (m + 1)) / masters) - 1;
      await command(defined(nodes[m]).port, ['CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)]);
    }
    for (const node of nodes.slice(1)) {
      await command(defined(nodes[0]).port, ['CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(node.busPort)]);
    }
    const total = nodes.length;
    await waitUntil(
      async () => {
        for (const node of nodes) {
          const lines = nodeLines(await command(node.port, ['CLUSTER', 'NODES']));
          if (lines.length !== total || lines.some((line) => line.flags.includes('handshake'))) return false;
        }
        return true;
      },
      'every node to know every other',
      30_000,
    );
    for (let r = masters; r < total; r += 1) {
      await command(defined(nodes[r]).port, ['CLUSTER', 'REPLICATE', defined(ids[(r - masters) % masters])]);
    }
    const cluster = clusterOf(started, stop);
    await cluster.waitHealthy(30_000);
    await waitUntil(
      async () => {
        for (const node of nodes.slice(masters)) {
          if (infoFields(await command(node.port, ['INFO', 'replication'])).master_link_status !== 'up') return false;
        }
        return true;
      },
      'every replica in sync with its master',
      30_000,
    );
    // A replica's link can be up before the other nodes have heard, by gossip, whose replica it is:
    // until they have, CLUSTER NODES on them still shows it as a master without slots.
    const expectedMaster = new Map(nodes.slice(masters).map((node, r) => [node.port, ids[r % masters]]));
    await waitUntil(
      async () => {
        for (const node of nodes) {
          const lines = nodeLines(await command(node.port, ['CLUSTER', 'NODES']));
          for (const [port, masterId] of expectedMaster) {
            const line = lines.find((candidate) => candidate.port === port);
            if (line === undefined || !line.flags.includes('slave') || line.master !== masterId) return false;
          }
        }
        return true;
      },
      'every node to see every replica attached to its master',
      30_000,
    );
    return cluster;
  } catch (error) {
    const logs = logTails(started);
    await stop();
    if (error instanceof PortTakenError) throw error;
    throw new Error(`could not start a Redis Cluster: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}

function clusterOf(started: readonly Started[], stop: () => Promise<void>): LaunchedCluster {
  const nodes = started.map(({ node }) => node);
  const live = (): ClusterNode[] => nodes.filter((node) => node.alive());
  const send = (port: number, ...args: string[]): Promise<Reply> => command(port, args);
  const view = async (): Promise<NodeLine[]> => {
    const [first] = live();
    if (first === undefined) throw new Error('no live node');
    return nodeLines(await send(first.port, 'CLUSTER', 'NODES'));
  };
  const healthy = async (): Promise<boolean> => {
    for (const node of live()) {
      if (infoFields(await send(node.port, 'CLUSTER', 'INFO')).cluster_state !== 'ok') return false;
      const lines = nodeLines(await send(node.port, 'CLUSTER', 'NODES'));
      let served = 0;
      for (const line of lines) {
        if (!line.flags.includes('master') || line.flags.some((flag) => flag === 'fail' || flag === 'fail?')) continue;
        if (!nodes.some((other) => other.port === line.port && other.alive())) continue;
        for (const [first, last] of line.slots) served += last - first + 1;
      }
      if (served !== 16384) return false;
    }
    return true;
  };
  const cluster: LaunchedCluster = {
    nodes,
    get seeds() {
      return live().map((node) => ({ host: '127.0.0.1', port: node.port }));
    },
    command: send,
    async slotOf(key) {
      return Number(await send(defined(live()[0], 'a live node').port, 'CLUSTER', 'KEYSLOT', key));
    },
    async masterOf(slot) {
      const owner = (await view()).find(
        (line) =>
          line.flags.includes('master') &&
          !line.flags.includes('fail') &&
          line.slots.some(([first, last]) => first <= slot && slot <= last),
      );
      if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
      return owner.port;
    },
    async replicaOf(masterPort) {
      const lines = await view();
      const master = lines.find((line) => line.port === masterPort);
      const replica = lines.find(
        (line) => line.master === master?.id && nodes.some((node) => node.port === line.port && node.alive()),
      );
      if (replica === undefined) throw new Error(`no live replica of ${masterPort}`);
      return replica.port;
    },
    async failover(port) {
      await send(port, 'CLUSTER', 'FAILOVER');
      await waitUntil(
        async () => ((await send(port, 'ROLE')) as Reply[])[0] === 'master',
        `node ${port} to be promoted by CLUSTER FAILOVER`,
        15_000,
      );
      await cluster.waitHealthy();
      await waitUntil(
        async () => {
          for (const node of live()) {
            const lines = nodeLines(await send(node.port, 'CLUSTER', 'NODES'));
            const promoted = lines.find((line) => line.port === port);
            if (promoted === undefined || !promoted.flags.includes('master') || promoted.slots.length === 0)
              return false;
          }
          return true;
        },
        `every node to see ${port} as a master`,
        15_000,
      );
    },
    kill(port) {
      const target = started.find(({ node }) => node.port === port);
      if (target === undefined) throw new Error(`no node on port ${port}`);
      target.child.kill('SIGKILL');
    },
    async migrateSlot(slot, to, askWindow = 300) {
      const from = await cluster.masterOf(slot);
      if (from === to) throw new Error(`slot ${slot} is already on ${to}`);
      const fromId = String(await send(from, 'CLUSTER', 'MYID'));
      const toId = String(await send(to, 'CLUSTER', 'MYID'));
      await send(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
      await send(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
      for (;;) {
        const keys = (await send(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
        if (keys.length === 0) break;
        await send(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
      }
      await sleep(askWindow);
      await send(to, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
      await send(from, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
      for (const line of await view()) {
        if (line.flags.includes('master') && line.port !== to && line.port !== from) {
          await send(line.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
        }
      }
      await waitUntil(
        async () => {
          for (const node of live()) {
            const lines = nodeLines(await send(node.port, 'CLUSTER', 'NODES'));
            const owner = lines.find((line) => line.slots.some(([first, last]) => first <= slot && slot <= last));
            if (owner?.id !== toId) return false;
          }
          return true;
        },
        `every node to see slot ${slot} on ${to}`,
        15_000,
      );
    },
    waitHealthy: (timeout = 15_000) => waitUntil(healthy, 'cluster_state:ok on every live node', timeout),
    stop,
  };
  return cluster;
}

/** The cluster a test file uses, or why there is none. */
export type ClusterTarget = { seeds: readonly Seed[]; stop(): Promise<void> } | { skip: string };

/**
 * Finds the cluster for this test file: `$TBF_REDIS_CLUSTER_URL` if set (its first seed must answer),
 * else a cluster of its own if `redis-server` can be run. Throws under `CI=true` when there is none;
 * otherwise returns the reason to skip, which the caller prints.
 */
export async function clusterTarget(): Promise<ClusterTarget> {
  const fromEnv = process.env[CLUSTER_URL_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') {
    const seeds = fromEnv.split(',').map((url) => {
      const parsed = new URL(url.trim());
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const [first] = seeds;
    if (first === undefined || !(await ping(first.port, first.host))) {
      throw new Error(`${CLUSTER_URL_VARIABLE}=${fromEnv} does not answer PING`);
    }
    return { seeds, stop: () => Promise.resolve() };
  }
  const unavailable = clusterUnavailable();
  if (unavailable !== undefined) return { skip: unavailable };
  const cluster = await launchCluster();
  return { seeds: cluster.seeds, stop: () => cluster.stop() };
}

/**
 * Why no cluster can be had here, or undefined when one can. Under `CI=true` that is an error, never a
 * skip: `.ci/run` installs redis-server.
 */
export function clusterUnavailable(): string | undefined {
  const fromEnv = process.env[CLUSTER_URL_VARIABLE];
  if ((fromEnv !== undefined && fromEnv !== '') || redisServerInstalled()) return undefined;
  const reason = `no Redis Cluster: ${CLUSTER_URL_VARIABLE} is unset and redis-server is not installed`;
  if (process.env.CI === 'true') {
    throw new Error(`${reason} (CI=true: the cluster tests must run; see scripts/ci-redis.sh)`);
  }
  return reason;
}
