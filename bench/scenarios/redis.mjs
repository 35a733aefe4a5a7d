/**
 * The Redis store's benchmark: RedisTokenBucketFilter's throughput and latency beside bare EVALSHA calls
 * through the same client, in the same run, with 1, 10 and 100 calls in flight; and the Redis calls it
 * makes per granted token when callers wait.
 *
 *   node bench/scenarios/redis.mjs [--quick] [--slices n] [--slice-ms ms] [--json file]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR) and the Redis at $TBF_REDIS_URL, or starts a private
 * redis-server (persistence off) on a free port. Needs ioredis and redis (dev dependencies of the repo).
 *
 * Rows, per client library and calls in flight (each a loop of `await call()` per slot, for a fixed time):
 * - `bare EVALSHA (trivial)`: `EVALSHA` of `return 1`: the floor of one Redis round trip;
 * - `bare EVALSHA (bucket script)`: `EVALSHA` of the store's own script with the arguments the store
 *   would send, called directly: the same work in Redis, without the library;
 * - `tryGetToken()` and `getToken()` on a bucket that always has tokens: one script call each.
 * Each row runs in `--slices` short slices (default 15 × 300 ms), every variant once per slice in a
 * rotating order. calls/s is the median over slices; `overhead` is the median over slices of
 * 1 − (library calls/s ÷ bare bucket-script calls/s in the same slice): what the library adds in this
 * process (negative where the library batches: calls made while one is in flight on the key travel
 * together in its next script call, while the bare rows make one call each). Latencies are per call,
 * from the call to its settlement, p50 and p99 over every call. `bench/scenarios/redis-throughput.mjs`
 * compares with rate-limiter-flexible.
 *
 * Not a scenario of bench/run.mjs: its rows are variants of one library against one server, not
 * libraries, so it runs on its own.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commandLine, connect, drive, fmt, median, percentile, startRedis } from '../lib/redis.mjs';

const { flag, value } = commandLine();
const quick = flag('--quick');
const slices = Number(value('--slices', quick ? 2 : 15));
const sliceMs = Number(value('--slice-ms', quick ? 100 : 300));
const seconds = quick ? 0.3 : 2; // of the calls-per-token run
const jsonFile = value('--json', undefined);
const INFLIGHT = [1, 10, 100];

const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
const entry = [`${distDir}/redis.js`, `${distDir}/redis/index.js`].find((path) => existsSync(path));
if (entry === undefined)
  throw new Error(`${distDir}/redis.js is missing: build the package first, or set TBF_DIST_DIR`);
const { RedisTokenBucketFilter, BUCKET_SCRIPT, BUCKET_SCRIPT_SHA, scriptRunner } = await import(
  pathToFileURL(entry).href
);

async function benchClient(kind, url) {
  const { client, close } = await connect(kind, url);
  const runner = scriptRunner(client);
  const TRIVIAL = 'return 1';
  await runner.eval(TRIVIAL, ['bench:{trivial}'], []);
  const trivialSha = (await import('node:crypto')).createHash('sha1').update(TRIVIAL).digest('hex');
  // A bucket that always has tokens (10^12, one more per second): every decision is one grant, and
  // its key lives on (it would be full again only after as many seconds as tokens were taken).
  const spec = { capacity: 1_000_000_000_000, refillTokens: 1, refillInterval: 1000 };
  const bucket = new RedisTokenBucketFilter({ client, key: `bench-${kind}-${Date.now()}`, ...spec });
  // op take, the configuration's text, now ('' = Redis TIME), what a missing key holds ('' = full, its
  // schedule starting now), then one run of takes: 1 take, count 1, maxWait 0.
  const bucketArgs = ['1', `0|${spec.capacity}:1:1000`, '', '', '1', '1', '0'];
  const bareKey = `bench:{bare-${kind}-${Date.now()}}`;
  await runner.eval(BUCKET_SCRIPT, [bareKey], bucketArgs);
  const variants = {
    'bare EVALSHA (trivial)': () => runner.evalsha(trivialSha, ['bench:{trivial}'], []),
    'bare EVALSHA (bucket script)': () => runner.evalsha(BUCKET_SCRIPT_SHA, [bareKey], bucketArgs),
    'tryGetToken()': () => bucket.tryGetToken(),
    'getToken()': () => bucket.getToken(),
  };
  const names = Object.keys(variants);
  const results = [];
  for (const inFlight of INFLIGHT) {
    const rates = Object.fromEntries(names.map((name) => [name, []]));
    const latencies = Object.fromEntries(names.map((name) => [name, []]));
    await drive(variants['tryGetToken()'], inFlight, 300, []); // warm-up
    // Short slices, every variant once per slice in a rotating order: the machine's load drifts
    // (other work shares these cores), and each ratio compares slices run side by side.
    for (let slice = 0; slice < slices; slice += 1) {
      for (let i = 0; i < names.length; i += 1) {
        const name = names[(i + slice) % names.length];
        rates[name].push((await drive(variants[name], inFlight, sliceMs, latencies[name])).rate);
      }
    }
    for (const name of names) {
      const sorted = latencies[name].sort((a, b) => a - b);
      const bare = rates['bare EVALSHA (bucket script)'];
      const overheads = rates[name].map((rate, slice) => 1 - rate / bare[slice]);
      results.push({
        client: kind,
        inFlight,
        variant: name,
        rate: median(rates[name]),
        overhead: median(overheads),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        rates: rates[name],
      });
    }
  }
  bucket.close();

  // Calls per granted token when callers wait: a bucket of 1,000 tokens/s, 100 callers in flight.
  let scriptCalls = 0;
  const counting = {
    evalsha: (...a) => {
      scriptCalls += 1;
      return runner.evalsha(...a);
    },
    eval: (...a) => {
      scriptCalls += 1;
      return runner.eval(...a);
    },
  };
  const waiting = new RedisTokenBucketFilter({
    client: counting,
    key: `bench-wait-${kind}-${Date.now()}`,
    capacity: 5,
    refillInterval: 1,
  });
  let granted = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (performance.now() < end) {
        await waiting.getToken();
        granted += 1;
      }
    }),
  );
  waiting.close();
  await close();
  return { results, callsPerToken: { granted, scriptCalls, perToken: scriptCalls / granted } };
}

const server = await startRedis();
const report = { date: new Date().toISOString(), node: process.version, slices, sliceMs, clients: [] };
try {
  for (const kind of ['ioredis', 'node-redis']) report.clients.push(await benchClient(kind, server.url));
} finally {
  await server.stop();
}

console.log(
  `\nRedis store benchmark — ${slices} slices of ${sliceMs} ms per row, interleaved; medians; Node ${process.version}\n`,
);
for (const { results, callsPerToken } of report.clients) {
  const kind = results[0].client;
  console.log(`### ${kind}\n`);
  console.log('| in flight | call | calls/s | p50 ms | p99 ms | overhead vs bare bucket script |');
  console.log('|---:|---|---:|---:|---:|---:|');
  for (const row of results) {
    const overhead = row.variant.startsWith('bare') ? '' : `${fmt(row.overhead * 100, 1)} %`;
    console.log(
      `| ${row.inFlight} | ${row.variant} | ${fmt(row.rate)} | ${fmt(row.p50, 3)} | ${fmt(row.p99, 3)} | ${overhead} |`,
    );
  }
  console.log(
    `\nWaiting callers (5-token burst, 1,000 tokens/s, 100 callers): ${fmt(callsPerToken.granted)} tokens granted with ${fmt(callsPerToken.scriptCalls)} script calls = ${fmt(callsPerToken.perToken, 3)} calls per token.\n`,
  );
}
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
