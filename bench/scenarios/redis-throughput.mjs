/**
 * The Redis store beside the peer users would otherwise pick: decisions per second and latency of
 * RedisTokenBucketFilter's `tryGetToken()` beside rate-limiter-flexible's `RateLimiterRedis.consume()`
 * and a bare `EVALSHA` of `return 1` (one Redis round trip that does nothing), through the same client,
 * with 1, 10 and 100 calls in flight, in one interleaved run.
 *
 *   node bench/scenarios/redis-throughput.mjs [--quick] [--slices n] [--slice-ms ms]
 *     [--clients ioredis,node-redis] [--baseline-dist dir] [--json file]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR) and the Redis at $TBF_REDIS_URL, or starts a private
 * redis-server (persistence off) on a free port. Needs ioredis and redis (dev dependencies of the repo)
 * and rate-limiter-flexible (`npm ci --prefix bench`). With `--baseline-dist <dir>` (another build's
 * dist/, e.g. of main), that build's `tryGetToken()` runs as one more row, interleaved with the others.
 *
 * Rows, per client and calls in flight (each a loop of `await call()` per slot, for a fixed time):
 * - `tryGetToken()`: a bucket that always has tokens (10^12, one more per second), so every call is a
 *   decision that grants;
 * - `rate-limiter-flexible consume()`: `RateLimiterRedis` with as many points, every call granted (it
 *   runs its own Lua script: SET NX, INCRBY, PTTL);
 * - `bare EVALSHA return 1`: the floor of one Redis round trip per call through this client.
 * Each row runs in `--slices` short slices (default 12 × 400 ms), every row once per slice in a
 * rotating order, so that all rows see the same machine load. calls/s is the median over slices;
 * `× rlf` and `× bare` are medians over slices of the row's calls/s divided by that row's in the same
 * slice. Latency is per call, from the call to its settlement, p50 and p99 over every call of the row.
 * `Redis µs/call` is Redis' own CPU per call of the row (INFO commandstats: the usec of EVALSHA and
 * EVAL over the slice, divided by the calls the row made), median over slices.
 */
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commandLine, connect, drive, median, percentile, startRedis } from '../lib/redis.mjs';

const { args, flag, value } = commandLine();
const quick = flag('--quick');
const slices = Number(value('--slices', quick ? 2 : 12));
const sliceMs = Number(value('--slice-ms', quick ? 100 : 400));
const clients = value('--clients', 'ioredis,node-redis').split(',');
const baselineDir = value('--baseline-dist', undefined);
const jsonFile = value('--json', undefined);
const INFLIGHT = [1, 10, 100];

async function load(dir) {
  const entry = [`${dir}/redis.js`, `${dir}/redis/index.js`].find((path) => existsSync(path));
  if (entry === undefined) throw new Error(`${dir}/redis.js is missing: build the package first`);
  return import(pathToFileURL(entry).href);
}
const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
const current = await load(distDir);
const baseline = baselineDir === undefined ? undefined : await load(baselineDir);
const require = createRequire(import.meta.url);
let RateLimiterRedis;
try {
  ({ RateLimiterRedis } = require('rate-limiter-flexible'));
} catch {
  throw new Error('rate-limiter-flexible is missing: run `npm ci --prefix bench` first');
}

/** Redis' total usec in EVALSHA and EVAL so far (INFO commandstats), through the monitor connection. */
async function scriptUsec(monitor) {
  const text = await monitor.info('commandstats');
  let usec = 0;
  for (const match of text.matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)) usec += Number(match[1]);
  return usec;
}

async function benchClient(kind, url, monitor) {
  const { client, close } = await connect(kind, url);
  const runner = current.scriptRunner(client);
  const TRIVIAL = 'return 1';
  const trivialSha = createHash('sha1').update(TRIVIAL).digest('hex');
  await runner.eval(TRIVIAL, ['bench:{trivial}'], []);
  const stamp = `${kind}-${Date.now()}`;
  // A bucket that always has tokens: every decision is one grant, and the key lives on.
  const spec = { capacity: 1_000_000_000_000, refillTokens: 1, refillInterval: 1000 };
  const bucket = new current.RedisTokenBucketFilter({ client, key: `tp-${stamp}`, ...spec });
  const old = baseline && new baseline.RedisTokenBucketFilter({ client, key: `tp-old-${stamp}`, ...spec });
  const rlf = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: kind === 'node-redis',
    keyPrefix: `rlf-${stamp}`,
    points: 1_000_000_000_000,
    duration: 1_000_000,
  });
  const variants = {
    'tryGetToken()': async () => {
      if (!(await bucket.tryGetToken())) throw new Error('tryGetToken() refused: the bench bucket ran dry');
    },
    ...(old === undefined
      ? {}
      : {
          'tryGetToken() (baseline)': async () => {
            if (!(await old.tryGetToken())) throw new Error('the baseline tryGetToken() refused');
          },
        }),
    'rate-limiter-flexible consume()': () => rlf.consume('hot'),
    'bare EVALSHA return 1': () => runner.evalsha(trivialSha, ['bench:{trivial}'], []),
  };
  const names = Object.keys(variants);
  const results = [];
  for (const inFlight of INFLIGHT) {
    const rates = Object.fromEntries(names.map((name) => [name, []]));
    const cpu = Object.fromEntries(names.map((name) => [name, []]));
    const latencies = Object.fromEntries(names.map((name) => [name, []]));
    for (const name of names) await drive(variants[name], inFlight, quick ? 50 : 200, []); // warm-up
    // Short slices, every row once per slice in a rotating order: the machine's load drifts (other
    // work shares these cores), and each ratio compares slices run side by side.
    for (let slice = 0; slice < slices; slice += 1) {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(i + slice) % names.length];
        const before = await scriptUsec(monitor);
        const { calls, rate } = await drive(variants[name], inFlight, sliceMs, latencies[name]);
        const after = await scriptUsec(monitor);
        rates[name].push(rate);
        cpu[name].push((after - before) / calls);
      }
    }
    for (const name of names) {
      const sorted = latencies[name].sort((a, b) => a - b);
      const ratio = (other) =>
        rates[other] === undefined ? undefined : median(rates[name].map((rate, slice) => rate / rates[other][slice]));
      results.push({
        client: kind,
        inFlight,
        variant: name,
        rate: median(rates[name]),
        vsRlf: ratio('rate-limiter-flexible consume()'),
        vsBare: ratio('bare EVALSHA return 1'),
        vsBaseline: ratio('tryGetToken() (baseline)'),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        redisUsec: median(cpu[name]),
        rates: rates[name],
      });
    }
  }
  bucket.close();
  old?.close();
  await close();
  return results;
}

const server = await startRedis();
const { Redis } = await import('ioredis');
const monitor = new Redis(server.url);
const report = { date: new Date().toISOString(), node: process.version, slices, sliceMs, results: [] };
try {
  for (const kind of clients) report.results.push(...(await benchClient(kind, server.url, monitor)));
} finally {
  monitor.disconnect();
  await server.stop();
}

const fmt = (n, digits = 0) =>
  n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\n$ node bench/scenarios/redis-throughput.mjs ${args.join(' ')}`.trimEnd());
console.log(
  `Redis throughput — ${slices} slices of ${sliceMs} ms per row, interleaved; medians; Node ${process.version}; load ${(await import('node:os')).loadavg()[0].toFixed(2)}\n`,
);
for (const kind of clients) {
  console.log(`### ${kind}\n`);
  console.log('| in flight | call | calls/s | × rlf | × bare | × baseline | p50 ms | p99 ms | Redis µs/call |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of report.results.filter((r) => r.client === kind)) {
    const self = (other) => row.variant === other;
    console.log(
      `| ${row.inFlight} | ${row.variant} | ${fmt(row.rate)} | ${self('rate-limiter-flexible consume()') ? '' : fmt(row.vsRlf, 2)} | ${self('bare EVALSHA return 1') ? '' : fmt(row.vsBare, 2)} | ${self('tryGetToken() (baseline)') ? '' : fmt(row.vsBaseline, 2)} | ${fmt(row.p50, 3)} | ${fmt(row.p99, 3)} | ${fmt(row.redisUsec, 2)} |`,
    );
  }
  console.log('');
}
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
