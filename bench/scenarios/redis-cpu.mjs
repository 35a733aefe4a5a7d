/**
 * Redis CPU per decision of the bucket script, beside rate-limiter-flexible's script: `redis-benchmark`
 * (pipelined, so the client costs nothing) runs EVALSHA of each script, and `INFO commandstats` gives the
 * µs Redis spent per call.
 *
 *   node bench/scenarios/redis-cpu.mjs [--rounds n] [--calls n] [--baseline <git rev>]
 *
 * Uses the built package (dist/, or $TBF_DIST_DIR) and the Redis at $TBF_REDIS_URL, or starts a private
 * redis-server; needs `redis-benchmark` on the PATH, and rate-limiter-flexible (`npm ci --prefix bench`).
 * The rows, each with Redis TIME as by default, are `redis-cpu-rows.mjs`'s: their arguments are what the
 * store sends. With `--baseline <rev>`, the script of that revision, built from its own sources (its
 * store sending its own arguments), runs the bucket rows too, interleaved round by round with the
 * current one, so that both see the same load. Prints the median and the range over rounds, in µs per
 * decision: in the script (`INFO commandstats`, wall time) and of Redis' CPU (`INFO cpu`, parsing and
 * replies included; steadier on a busy machine). For counts that a busy machine does not change, see
 * `redis-cpu-instructions.mjs`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { freePort } from '../lib/redis.mjs';
import { currentBuild, redisCpuRows, revisionBuild } from './redis-cpu-rows.mjs';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const rounds = Number(value('--rounds', 5));
const calls = Number(value('--calls', 200_000));
const baseline = value('--baseline', undefined);

const lib = await currentBuild();
const old = baseline === undefined ? undefined : { rev: baseline, lib: await revisionBuild(baseline) };
const { Redis } = await import('ioredis');

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
const rows = await redisCpuRows(redis, lib, old);

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
