/**
 * What the `replicas` opt-in costs: decisions per second and latency of RedisTokenBucketFilter's
 * `tryGetToken()` with and without `replicas: { count: 1, timeout: 100 }` (WAIT 1 100 after every
 * script call, on the same connection), on a master with one replica on loopback, through ioredis and
 * node-redis, with 1, 10 and 100 calls in flight, in one interleaved run.
 *
 *   node bench/scenarios/redis-replicas.mjs [--quick] [--slices n] [--slice-ms ms] [--clients ioredis,node-redis]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR). Starts its own master and replica
 * (`redis-server`, persistence off, the replica made one with REPLICAOF) on free ports of 127.0.0.1
 * and stops both by pid. Rows run in `--slices` short slices (default 12 × 400 ms), both rows once per
 * slice in a rotating order; calls/s is the median over slices, `× plain` the median over slices of
 * the WAIT row's calls/s divided by the plain row's in the same slice; p50/p99 over every call.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commandLine, connect, drive, fmt, median, percentile, startRedisServer } from '../lib/redis.mjs';

const { args, flag, value } = commandLine();
const quick = flag('--quick');
const slices = Number(value('--slices', quick ? 2 : 12));
const sliceMs = Number(value('--slice-ms', quick ? 100 : 400));
const clients = value('--clients', 'ioredis,node-redis').split(',');
const INFLIGHT = [1, 10, 100];
const REPLICAS = { count: 1, timeout: 100 };

const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
const entry = [`${distDir}/redis.js`, `${distDir}/redis/index.js`].find((path) => existsSync(path));
if (entry === undefined) throw new Error(`${distDir}/redis.js is missing: build the package first`);
const { RedisTokenBucketFilter } = await import(pathToFileURL(entry).href);

async function benchClient(kind, url) {
  const { client, close } = await connect(kind, url);
  const spec = { capacity: 1_000_000_000_000, refillTokens: 1, refillInterval: 1000, client };
  const stamp = `${kind}-${Date.now()}`;
  const buckets = {
    'tryGetToken()': new RedisTokenBucketFilter({ ...spec, key: `plain-${stamp}` }),
    'tryGetToken(), replicas 1': new RedisTokenBucketFilter({ ...spec, key: `wait-${stamp}`, replicas: REPLICAS }),
  };
  const names = Object.keys(buckets);
  const call = (name) => async () => {
    if (!(await buckets[name].tryGetToken())) throw new Error(`${name} refused (a replica missing?)`);
  };
  const results = [];
  for (const inFlight of INFLIGHT) {
    const rates = Object.fromEntries(names.map((name) => [name, []]));
    const latencies = Object.fromEntries(names.map((name) => [name, []]));
    for (const name of names) await drive(call(name), inFlight, quick ? 50 : 200, []);
    for (let slice = 0; slice < slices; slice += 1) {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(i + slice) % names.length];
        rates[name].push((await drive(call(name), inFlight, sliceMs, latencies[name])).rate);
      }
    }
    for (const name of names) {
      const sorted = latencies[name].sort((a, b) => a - b);
      results.push({
        client: kind,
        inFlight,
        variant: name,
        rate: median(rates[name]),
        vsPlain: median(rates[name].map((rate, slice) => rate / rates[names[0]][slice])),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
      });
    }
  }
  for (const bucket of Object.values(buckets)) bucket.close();
  await close();
  return results;
}

const master = await startRedisServer();
const replica = await startRedisServer(['--replicaof', '127.0.0.1', String(master.port)]);
const results = [];
try {
  const { Redis } = await import('ioredis');
  const admin = new Redis(master.url);
  const deadline = Date.now() + 10_000;
  while (!/state=online/.test(await admin.info('replication'))) {
    if (Date.now() > deadline) throw new Error('the replica did not come online');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  admin.disconnect();
  for (const kind of clients) results.push(...(await benchClient(kind, master.url)));
} finally {
  await replica.stop();
  await master.stop();
}

console.log(`\n$ node bench/scenarios/redis-replicas.mjs ${args.join(' ')}`.trimEnd());
console.log(
  `WAIT cost — a master and one replica on loopback; ${slices} slices of ${sliceMs} ms per row, interleaved; medians; Node ${process.version}; load ${(await import('node:os')).loadavg()[0].toFixed(2)}\n`,
);
for (const kind of clients) {
  console.log(`### ${kind}\n`);
  console.log('| in flight | call | calls/s | × plain | p50 ms | p99 ms |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const row of results.filter((r) => r.client === kind)) {
    console.log(
      `| ${row.inFlight} | ${row.variant} | ${fmt(row.rate)} | ${fmt(row.vsPlain, 2)} | ${fmt(row.p50, 3)} | ${fmt(row.p99, 3)} |`,
    );
  }
  console.log('');
}
