/**
 * Redis' instructions per decision of the bucket script, beside rate-limiter-flexible's script and
 * `return 1`: the rows of `redis-cpu-rows.mjs`, run by pipelined `redis-benchmark` (`-c 20 -P 16`)
 * against a private redis-server running under `valgrind --tool=callgrind`. Around each row the
 * counters are zeroed (`callgrind_control -z`) and dumped (`-d`); the dump's total, divided by the
 * calls (and by the decisions per call), is the whole server's instructions per decision: parsing,
 * the script, its Redis commands, the reply and the event loop. Unlike the µs of `redis-cpu.mjs`, a
 * count does not depend on how busy the machine is, so the ratios hold on a shared 2-core machine.
 *
 *   node bench/scenarios/redis-cpu-instructions.mjs [--calls n] [--rounds n] [--baseline <git rev>]
 *
 * A bench tool, not a test: it needs valgrind (`apt-get install valgrind`, with `callgrind_control`),
 * `redis-server` and `redis-benchmark` on the PATH, the built package (dist/, or $TBF_DIST_DIR) and
 * rate-limiter-flexible (`npm ci --prefix bench`); CI does not run it. Each row first runs 320 calls
 * uncounted (its key then exists, as in the steady state). The server runs with `hz 1`, so that the
 * timer events (which follow wall time, 20–50× longer under valgrind) add next to nothing per call;
 * the 20 connections redis-benchmark opens are counted, and come to a few hundred instructions per
 * call at the default 10,000 calls. `--baseline <rev>`: that revision's script runs the bucket rows too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ping } from '../lib/redis.mjs';
import { currentBuild, redisCpuRows, revisionBuild } from './redis-cpu-rows.mjs';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const calls = Number(value('--calls', 10_000));
const rounds = Number(value('--rounds', 1));
const baseline = value('--baseline', undefined);

const lib = await currentBuild();
const old = baseline === undefined ? undefined : { rev: baseline, lib: await revisionBuild(baseline) };
const { Redis } = await import('ioredis');

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'tbf-callgrind-'));
const server = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--quiet',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    'redis-server',
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--hz', '1'],
  ],
  { stdio: 'ignore' },
);
const deadline = Date.now() + 60_000;
while (!(await ping(port))) {
  if (Date.now() > deadline || server.exitCode !== null) throw new Error('redis-server under valgrind did not start');
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const redis = new Redis(`redis://127.0.0.1:${port}`);
const rows = await redisCpuRows(redis, lib, old);

const bench = (row, n) =>
  execFileSync(
    'redis-benchmark',
    ['-p', String(port), '-n', String(n), '-c', '20', '-P', '16', '-q', 'EVALSHA', row.sha, '1', row.key, ...row.argv],
    { stdio: 'ignore' },
  );

/** Dumps the counters; returns the new dump's total instructions. */
function dumpTotal() {
  const before = new Set(readdirSync(dir));
  execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' });
  const fresh = readdirSync(dir).filter((name) => name.startsWith('callgrind.out') && !before.has(name));
  if (fresh.length !== 1) throw new Error(`expected one new callgrind dump, found ${fresh.length}`);
  const total = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, fresh[0]), 'utf8'))?.[1];
  if (total === undefined) throw new Error(`no total in ${fresh[0]}`);
  return Number(total);
}

/** Runs `row`'s calls between a zeroing and a dump of the counters; returns instructions per decision. */
async function instructionsPerDecision(row) {
  await redis.call('CONFIG', 'RESETSTAT');
  bench(row, 320);
  execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' });
  bench(row, calls);
  const total = dumpTotal();
  const stats = await redis.info('commandstats');
  const match = /cmdstat_evalsha:calls=(\d+).*?(?:,rejected_calls=(\d+),failed_calls=(\d+))?\r?$/m.exec(stats);
  if (match === null || Number(match[1]) < calls + 320 || Number(match[2] ?? 0) + Number(match[3] ?? 0) > 0) {
    throw new Error(`${row.name}: the script failed (${stats})`);
  }
  return total / calls / row.per;
}

const results = new Map(rows.map((row) => [row.name, []]));
for (let round = 0; round < rounds; round += 1) {
  for (let i = 0; i < rows.length; i += 1) {
    const row = rows[(i + round) % rows.length];
    results.get(row.name).push(await instructionsPerDecision(row));
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rlf = median(results.get('rate-limiter-flexible consume()'));
const floor = median(results.get('return 1'));
const k = (n) => `${(n / 1000).toFixed(1)}k`;
console.log(`\n$ node bench/scenarios/redis-cpu-instructions.mjs ${args.join(' ')}`.trimEnd());
console.log(
  `Redis instructions per decision (callgrind, the whole server), ${rounds} round(s) × ${calls} calls, redis-benchmark -c 20 -P 16; median, range; × rate-limiter-flexible; above return 1`,
);
for (const { name, per } of rows) {
  const counts = results.get(name);
  const m = median(counts);
  const spread = rounds > 1 ? ` (${k(Math.min(...counts))}–${k(Math.max(...counts))})` : '';
  // A batch's share of its call's floor is return 1's cost divided by its decisions.
  const over = `+${k(m - floor / per)} over return 1${per > 1 ? ` / ${per}` : ''}`;
  console.log(`  ${name.padEnd(40)} ${k(m).padStart(7)}${spread}  ×${(m / rlf).toFixed(2)} rlf  ${over}`);
}
redis.disconnect();
server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
