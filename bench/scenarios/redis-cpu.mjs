/**
 * Redis CPU per decision of the bucket script, beside rate-limiter-flexible's script: `redis-benchmark`
 * (pipelined, so the client costs nothing) runs EVALSHA of each script, and `INFO commandstats` gives the
 * µs Redis spent per call.
 *
 *   node bench/scenarios/redis-cpu.mjs [--rounds n] [--calls n] [--baseline <git rev>]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR) and the Redis at $TBF_REDIS_URL, or starts a private
 * redis-server; needs `redis-benchmark` on the PATH, and rate-limiter-flexible (`npm ci --prefix bench`).
 * Rows (each with Redis TIME, as by default):
 * - `grant`: tryGetToken() on a hot key that always has tokens (the lean path: GET + SET PX);
 * - `refusal`: tryGetToken() on an empty key (no write);
 * - `peek`: waitTime();
 * - `grant, 2 limits`: the same grant with a second limit (the general path);
 * - `grant, batch of 16 alike` / `unlike (per decision)`: one call deciding 16 takes, as a batch of
 *   calls made while one was in flight travels: 16 equal takes (one run) or 16 different maxWaits (16
 *   runs); its µs per call divided by 16;
 * - `rate-limiter-flexible consume()`: the Lua script of its `RateLimiterRedis` (SET NX, INCRBY, PTTL),
 *   with the arguments its `consume()` sends;
 * - `return 1`: the floor of any script call.
 * With `--baseline <rev>`, the script of that revision (the layout before the state was one string:
 * op, config, n, each limit's numbers, now, origin, tokens-if-missing, then count and maxWait) runs the
 * first four rows too, interleaved round by round with the current one, so that both see the same load.
 * Prints the median and the range over rounds, in µs per decision: in the script (`INFO commandstats`,
 * wall time) and of Redis' CPU (`INFO cpu`, parsing and replies included; steadier on a busy machine).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from '../lib/redis.mjs';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const rounds = Number(value('--rounds', 5));
const calls = Number(value('--calls', 200_000));
const baseline = value('--baseline', undefined);

const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
const entry = `${distDir}/redis.js`;
if (!existsSync(entry)) throw new Error(`${entry} is missing: build the package first, or set TBF_DIST_DIR`);
const { BUCKET_SCRIPT } = await import(pathToFileURL(entry).href);
const { Redis } = await import('ioredis');
const { RateLimiterRedis } = createRequire(import.meta.url)('rate-limiter-flexible');
// Its script, as its constructor keeps it (a client without defineCommand registers nothing).
const RLF_SCRIPT = new RateLimiterRedis({ storeClient: {}, points: 1, duration: 1 })._incrTtlLuaScript;

let server;
let url = process.env.TBF_REDIS_URL;
if (!url) {
  const port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  url = `redis://127.0.0.1:${port}`;
  await new Promise((resolve) => setTimeout(resolve, 300));
}
const port = new URL(url).port || '6379';
const redis = new Redis(url);

const BIG = '1000000000';
const config = (limits) => `0|${limits.map((l) => l.join(':')).join(',')}`;
/** The current layout: op, config, now ('' = TIME), what a missing key holds ('' = full), then the op's own. */
const current = (op, limits, tail) => [String(op), config(limits), '', '', ...tail];
/** A take's arguments: the current layout's run of one take, the --baseline layout's count and maxWait. */
const take = (layout, count, maxWait) => (layout === current ? ['1', count, maxWait] : [count, maxWait]);
/** The layout of --baseline: op, config, n, each limit, now, origin, tokens if missing, then the op's own. */
const previous = (op, limits, tail) => [
  String(op),
  config(limits),
  String(limits.length),
  ...limits.flat(),
  '',
  '',
  ...limits.map((l) => l[0]),
  ...tail,
];
const rows = [];
const sha = await redis.script('LOAD', BUCKET_SCRIPT);
const hot = [[BIG, '1', '1000']];
const hot2 = [...hot, [BIG, '1', '3600000']];
const empty = [['1', '1', '100000000']];
const BATCH = 16;
const cases = [
  { name: 'grant', key: '{grant}', args: (layout) => layout(1, hot, take(layout, '1', '0')) },
  { name: 'refusal', key: '{refuse}', args: (layout) => layout(1, empty, take(layout, '1', '0')) },
  { name: 'peek', key: '{refuse}', args: (layout) => layout(0, empty, ['1']) },
  { name: 'grant, 2 limits', key: '{grant2}', args: (layout) => layout(1, hot2, take(layout, '1', '0')) },
];
for (const { name, key, args } of cases) rows.push({ name, sha, key: `cpu:${key}`, argv: args(current), per: 1 });
rows.push({
  name: `grant, batch of ${BATCH} alike (per decision)`,
  sha,
  key: 'cpu:{batch}',
  argv: current(1, hot, [String(BATCH), '1', '0']), // one run of 16 takes
  per: BATCH,
});
rows.push({
  name: `grant, batch of ${BATCH} unlike (per decision)`,
  sha,
  key: 'cpu:{batch2}',
  argv: current(
    1,
    hot,
    Array.from({ length: BATCH }, (_, i) => ['1', '1', String(1000 + i)]).flat(), // 16 runs of one take
  ),
  per: BATCH,
});
rows.push({
  name: 'rate-limiter-flexible consume()',
  sha: await redis.script('LOAD', RLF_SCRIPT),
  key: 'rlf:{hot}',
  argv: ['1', '1000000', '1000000000000', '1000000'], // points, secDuration, this.points, this.duration
  per: 1,
});
rows.push({ name: 'return 1', sha: await redis.script('LOAD', 'return 1'), key: 'cpu:{one}', argv: [], per: 1 });
if (baseline !== undefined) {
  const text = execFileSync('git', ['show', `${baseline}:src/redis/script.ts`], { encoding: 'utf8' });
  const script = /export const BUCKET_SCRIPT = `([\s\S]*?)`;/.exec(text)?.[1];
  if (script === undefined) throw new Error(`no BUCKET_SCRIPT in ${baseline}:src/redis/script.ts`);
  const old = await redis.script('LOAD', script);
  for (const { name, key, args } of cases) {
    rows.push({ name: `${name} (${baseline})`, sha: old, key: `old:${key}`, argv: args(previous), per: 1 });
  }
}

/** Redis' own CPU time so far (INFO cpu: user + system), in µs. */
async function cpuUsec() {
  const text = await redis.info('cpu');
  const read = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1]);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1e6;
}

/** Runs `row` through redis-benchmark; returns its µs per decision: in the script, and of Redis' CPU. */
async function usecPerCall(row) {
  await redis.call('CONFIG', 'RESETSTAT');
  const before = await cpuUsec();
  execFileSync(
    'redis-benchmark',
    ['-p', port, '-n', String(calls), '-c', '20', '-P', '16', '-q', 'EVALSHA', row.sha, '1', row.key, ...row.argv],
    {
      stdio: 'ignore',
    },
  );
  const cpu = ((await cpuUsec()) - before) / calls / row.per;
  const stats = await redis.info('commandstats');
  const match =
    /cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)(?:,rejected_calls=(\d+),failed_calls=(\d+))?/.exec(
      stats,
    );
  if (match === null || Number(match[1]) < calls || Number(match[3] ?? 0) + Number(match[4] ?? 0) > 0) {
    throw new Error(`${row.name}: the script failed (${stats})`);
  }
  return { script: Number(match[2]) / row.per, cpu };
}

const results = new Map(rows.map((row) => [row.name, { script: [], cpu: [] }]));
for (let round = 0; round < rounds; round += 1) {
  // Rotate the order every round, so that no row always runs first.
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[(i + round) % rows.length];
    const { script, cpu } = await usecPerCall(row);
    results.get(row.name).script.push(script);
    results.get(row.name).cpu.push(cpu);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const range = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
console.log(`\n$ node bench/scenarios/redis-cpu.mjs ${args.join(' ')}`.trimEnd());
console.log(
  `µs per decision, ${rounds} rounds × ${calls} calls, redis-benchmark -P 16: in the script (INFO commandstats, wall time, which a busy machine inflates) and Redis' CPU (INFO cpu, the whole server: parsing and replies included)`,
);
for (const [name, { script, cpu }] of results) {
  console.log(
    `  ${name.padEnd(40)} script ${median(script).toFixed(2)} (${range(script)})  cpu ${median(cpu).toFixed(2)} (${range(cpu)})`,
  );
}
redis.disconnect();
server?.kill();
