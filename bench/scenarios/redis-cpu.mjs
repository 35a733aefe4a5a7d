/**
 * Redis CPU per decision of the bucket script: `redis-benchmark` (pipelined, so the client costs
 * nothing) runs EVALSHA of the script, and `INFO commandstats` gives the µs Redis spent per call.
 *
 *   node bench/scenarios/redis-cpu.mjs [--rounds n] [--calls n] [--baseline <git rev>]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR) and the Redis at $TBF_REDIS_URL, or starts a private
 * redis-server; needs `redis-benchmark` on the PATH. Rows (each with Redis TIME, as by default):
 * - `grant`: tryGetToken() on a hot key that always has tokens (HMGET + HSET + PEXPIRE);
 * - `refusal`: tryGetToken() on an empty key (no write);
 * - `peek`: waitTime();
 * - `grant, 2 limits`: the same grant with a second limit.
 * With `--baseline <rev>`, the script of that revision (the layout before the configuration was stored:
 * op, capacity, refillTokens, interval, initial, now, origin, count, maxWait) runs the first three rows
 * too, interleaved round by round with the current one, so that both see the same machine load.
 * Prints the median and the range over rounds, in µs per call.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

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
/** The current layout: op, config, n, each limit, now ('' = TIME), origin, tokens if missing, then op args. */
function current(op, limits, tail) {
  const config = `0|${limits.map((l) => l.join(':')).join(',')}`;
  return [String(op), config, String(limits.length), ...limits.flat(), '', '', ...limits.map((l) => l[0]), ...tail];
}
const rows = [];
const sha = await redis.script('LOAD', BUCKET_SCRIPT);
const hot = [[BIG, '1', '1000']];
const empty = [['1', '1', '100000000']];
rows.push({ name: 'grant', sha, key: 'cpu:{grant}', argv: current(1, hot, ['1', '0']) });
rows.push({ name: 'refusal', sha, key: 'cpu:{refuse}', argv: current(1, empty, ['1', '0']) });
rows.push({ name: 'peek', sha, key: 'cpu:{refuse}', argv: current(0, empty, ['1']) });
rows.push({
  name: 'grant, 2 limits',
  sha,
  key: 'cpu:{grant2}',
  argv: current(1, [...hot, [BIG, '1', '3600000']], ['1', '0']),
});
if (baseline !== undefined) {
  const text = execFileSync('git', ['show', `${baseline}:src/redis/script.ts`], { encoding: 'utf8' });
  const script = /export const BUCKET_SCRIPT = `([\s\S]*?)`;/.exec(text)?.[1];
  if (script === undefined) throw new Error(`no BUCKET_SCRIPT in ${baseline}:src/redis/script.ts`);
  const old = await redis.script('LOAD', script);
  rows.push({
    name: `grant (${baseline})`,
    sha: old,
    key: 'old:{grant}',
    argv: ['1', BIG, '1', '1000', BIG, '', '', '1', '0'],
  });
  rows.push({
    name: `refusal (${baseline})`,
    sha: old,
    key: 'old:{refuse}',
    argv: ['1', '1', '1', '100000000', '1', '', '', '1', '0'],
  });
  rows.push({
    name: `peek (${baseline})`,
    sha: old,
    key: 'old:{refuse}',
    argv: ['0', '1', '1', '100000000', '1', '', '', '1', ''],
  });
}

async function usecPerCall(row) {
  await redis.call('CONFIG', 'RESETSTAT');
  execFileSync(
    'redis-benchmark',
    ['-p', port, '-n', String(calls), '-c', '20', '-P', '16', '-q', 'EVALSHA', row.sha, '1', row.key, ...row.argv],
    {
      stdio: 'ignore',
    },
  );
  const stats = await redis.info('commandstats');
  const match = /cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(stats);
  if (match === null || Number(match[1]) < calls) throw new Error(`${row.name}: the script failed (${stats})`);
  return Number(match[2]);
}

const results = new Map(rows.map((row) => [row.name, []]));
for (let round = 0; round < rounds; round += 1) {
  // Rotate the order every round, so that no row always runs first.
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[(i + round) % rows.length];
    results.get(row.name).push(await usecPerCall(row));
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`Redis CPU per call (µs, INFO commandstats), ${rounds} rounds × ${calls} calls, redis-benchmark -P 16:`);
for (const [name, values] of results) {
  console.log(
    `  ${name.padEnd(28)} median ${median(values).toFixed(2)}  range ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`,
  );
}
redis.disconnect();
server?.kill();
