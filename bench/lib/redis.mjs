// What the Redis scenarios (bench/scenarios/redis*.mjs) share: their command line, a private
// redis-server on 127.0.0.1 stopped by its pid, a client connection, and the loop that drives calls.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `flag(name)`: whether `name` is on the command line; `value(name, fallback)`: the word after it. */
export function commandLine(args = process.argv.slice(2)) {
  return {
    args,
    flag: (name) => args.includes(name),
    value: (name, fallback) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : fallback;
    },
  };
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves whether something answers PING with +PONG on 127.0.0.1:`port` within 500 ms. */
export function ping(port) {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

/**
 * Starts a redis-server on a free port of 127.0.0.1, persistence off, in a temporary folder of its own
 * (a replica writes its full sync's RDB there, not in the working tree), with `extra` arguments; resolves
 * once it answers PING (rejects after 10 s). `stop()` sends SIGTERM, waits for the exit, removes the folder.
 */
export async function startRedisServer(extra = []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tbf-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `$TBF_REDIS_URL` if set (left running), else a server of {@link startRedisServer}. */
export async function startRedis() {
  if (process.env.TBF_REDIS_URL) return { url: process.env.TBF_REDIS_URL, stop: async () => {} };
  return startRedisServer();
}

/** One connection of client library `kind` ('ioredis' or 'node-redis'), its offline queue off. */
export async function connect(kind, url) {
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(url, { enableOfflineQueue: false, lazyConnect: true });
    await client.connect();
    return { client, close: () => client.quit() };
  }
  const { createClient } = await import('redis');
  const client = await createClient({ url, disableOfflineQueue: true }).connect();
  return { client, close: () => client.quit() };
}

/** The `p`th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs `call` in `inFlight` loops for `ms`; returns the calls made and calls/s, and appends latencies (ms). */
export async function drive(call, inFlight, ms, latencies) {
  const end = performance.now() + ms;
  let calls = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await call();
      latencies.push(performance.now() - started);
      calls += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, loop));
  return { calls, rate: (calls / (performance.now() - started)) * 1000 };
}

/** `n` with thousands separators and `digits` decimals. */
export const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
