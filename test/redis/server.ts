import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How the Redis tests find a server. `TBF_REDIS_URL` (set by scripts/ci-redis.sh) names one to use;
 * without it the tests start a private `redis-server` (on a free port, persistence off) when the binary
 * is on the PATH. Under `CI=true` a missing server fails the run; locally the tests skip, saying why.
 */
export const REDIS_URL_VARIABLE = 'TBF_REDIS_URL';

/** A redis-server this test process started, stopped by its pid. */
export interface LaunchedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port (its data is lost: no persistence). */
  restart(): Promise<void>;
}

/** Whether a `redis-server` binary can be run. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The ports this process hands out: a slice of its own below the kernel's ephemeral range. Ports from
 * the ephemeral range (`listen(0)`) were taken, between the probe and redis-server's bind, by the local
 * end of some other test's outgoing connection, and two test workers probing at once could be handed
 * the same port: both failed CI runs with "bind: Address already in use". Below the ephemeral range
 * no outgoing connection takes a port, and each vitest worker (`VITEST_POOL_ID`, unique among the
 * workers running at once) has its own slice, so only an unrelated listener can be in the way, and the
 * probe skips it. Two vitest runs at once on one machine (say, in two git worktrees) share those
 * slices: give each its own with `TBF_TEST_PORT_SLICE` (a whole number added to the worker's index).
 */
const PORT_SLICE = 500;
const ports = ((): { low: number; count: number } => {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: keep the IANA default's lower end
  }
  const base = 10_000;
  const slices = Math.max(1, Math.floor((Math.max(ephemeralLow, base + PORT_SLICE) - base) / PORT_SLICE));
  const worker = (Number(process.env.VITEST_POOL_ID) || process.pid) + (Number(process.env.TBF_TEST_PORT_SLICE) || 0);
  return { low: base + (worker % slices) * PORT_SLICE, count: PORT_SLICE };
})();
let nextPort = 0;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Returns a TCP port of this process's slice that was free a moment ago on 127.0.0.1, never the
 * same one twice in a row: it walks the slice round-robin. Rejects if every port of the slice is busy.
 */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < ports.count; tried += 1) {
    const port = ports.low + (nextPort % ports.count);
    nextPort += 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${ports.low}-${ports.low + ports.count - 1} on 127.0.0.1`);
}

/** A Lua script that keeps Redis busy for `ms` ms: every other client's command waits behind it (a stall). */
export function busyScript(ms: number): string {
  return `local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] while true do local n = redis.call('TIME') if n[1] * 1000000 + n[2] - s > ${ms * 1000} then break end end return 1`;
}

/** Resolves true if something answers PING with +PONG at host:port within `timeout` ms. */
export function ping(port: number, host = '127.0.0.1', timeout = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function startProcess(port: number, env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', ...(env === undefined ? {} : { env }) },
  );
  child.unref();
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a private redis-server on a free port of 127.0.0.1, persistence off, and waits until it answers. */
export async function launchRedis(env?: NodeJS.ProcessEnv): Promise<LaunchedRedis> {
  // A server that exits before it answers could not bind the port (taken since freePort()'s probe):
  // it is started again on another, up to 3 times.
  let port = await freePort();
  let child = startProcess(port, env);
  for (let attempt = 1; ; attempt += 1) {
    const started = child;
    const exitedEarly = (): Promise<boolean> =>
      Promise.resolve(started.exitCode !== null || started.signalCode !== null);
    await waitFor(async () => (await ping(port)) || (await exitedEarly()), `redis-server on port ${port}`);
    if (!(await exitedEarly())) break;
    if (attempt >= 3) throw new Error(`redis-server exited at once on port ${port}, ${attempt} times`);
    port = await freePort();
    child = startProcess(port, env);
  }
  const stop = async (): Promise<void> => {
    const current = child;
    if (current.exitCode !== null || current.signalCode !== null) return;
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 3000);
    await exited(current);
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    stop,
    async restart() {
      await stop();
      child = startProcess(port, env);
      await waitFor(() => ping(port), `redis-server restarted on port ${port}`);
    },
  };
}

/** The server the shared Redis tests use, or why there is none. */
export type RedisTarget = { url: string; stop(): Promise<void> } | { skip: string };

/**
 * Finds the server for this test file: `$TBF_REDIS_URL` if set (it must answer), else a private
 * redis-server if one can be started. Throws under `CI=true` when there is none (the Redis tests must
 * never skip in CI); otherwise returns the reason to skip, which the caller prints.
 */
export async function redisTarget(): Promise<RedisTarget> {
  const fromEnv = process.env[REDIS_URL_VARIABLE];
  const ci = process.env.CI === 'true';
  if (fromEnv !== undefined && fromEnv !== '') {
    const url = new URL(fromEnv);
    if (!(await ping(Number(url.port || 6379), url.hostname))) {
      throw new Error(`${REDIS_URL_VARIABLE}=${fromEnv} does not answer PING`);
    }
    return { url: fromEnv, stop: () => Promise.resolve() };
  }
  if (redisServerInstalled()) {
    const launched = await launchRedis();
    return { url: launched.url, stop: () => launched.stop() };
  }
  const reason = `no Redis: ${REDIS_URL_VARIABLE} is unset and redis-server is not installed`;
  if (ci) throw new Error(`${reason} (CI=true: the Redis tests must run; see scripts/ci-redis.sh)`);
  return { skip: reason };
}

/** Prints, once, that the Redis tests of `file` are skipped and why. */
export function announceSkip(file: string, reason: string): void {
  console.warn(
    `\n  SKIPPED ${file}: ${reason}.\n  Install redis-server or set ${REDIS_URL_VARIABLE}=redis://host:port to run them.\n`,
  );
}

/**
 * libfaketime (Debian's `libfaketime`): preloaded into a redis-server, it makes Redis' wall clock (the
 * `TIME` a script reads, and key expiry) whatever a file says. It clashes with jemalloc, which Debian's
 * redis-server links (jemalloc's first clock_gettime() comes while libfaketime initialises, which then
 * fails: wolfcw/libfaketime#130, unfixed), so tcmalloc (`libtcmalloc-minimal4`) is preloaded first and
 * serves malloc/free; jemalloc then starts only later, through `mallctl`, with libfaketime ready.
 */
export const FAKETIME_LIBRARIES = [
  '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
] as const;

/** Epoch ms that a fake clock's 0 stands for in Redis (2023-11-14T22:13:20Z): any fixed instant will do. */
export const FAKE_EPOCH = 1_700_000_000_000;

/** Why a redis-server under libfaketime cannot run here, or undefined when it can. */
export function fakeTimeUnavailable(): string | undefined {
  if (!redisServerInstalled()) return 'redis-server is not installed';
  const missing = FAKETIME_LIBRARIES.filter((library) => !existsSync(library));
  if (missing.length > 0) {
    return `${missing.join(' and ')} missing (apt-get install libfaketime libtcmalloc-minimal4; scripts/ci-redis.sh does)`;
  }
  return undefined;
}

/** A private redis-server whose clock is set by the test, to the microsecond. */
export interface FakeTimeRedis {
  readonly url: string;
  readonly pid: number;
  /** From now on, Redis' `TIME` reads {@link FAKE_EPOCH} + `ms` (rounded to the µs) until set again. */
  setTime(ms: number): void;
  /** Stops the server by its pid and removes its clock file. */
  stop(): Promise<void>;
}

/**
 * The clock file's line for `ms`: libfaketime's absolute, frozen form, to the ns
 * ("2023-11-14 22:13:20.000250500"). libfaketime reads the fraction as a double and Redis' `TIME`
 * truncates to the µs, so ".001000" would read 999 µs; the extra half µs makes every µs read exactly.
 */
export function fakeTimeLine(ms: number): string {
  const micros = Math.round((FAKE_EPOCH + ms) * 1000);
  const date = new Date(Math.floor(micros / 1000));
  const fraction = String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0');
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${fraction}500\n`;
}

/**
 * Starts a private redis-server under libfaketime (see {@link FAKETIME_LIBRARIES}), its clock frozen
 * at the instant its file names: `FAKETIME_TIMESTAMP_FILE` read at every clock call
 * (`FAKETIME_NO_CACHE=1`), the monotonic clock left real (`FAKETIME_DONT_FAKE_MONOTONIC=1`) so that
 * Redis' event loop and timeouts keep running. The file is replaced atomically (write, then rename),
 * so Redis never reads half a line.
 */
export async function launchFakeTimeRedis(): Promise<FakeTimeRedis> {
  const unavailable = fakeTimeUnavailable();
  if (unavailable !== undefined) throw new Error(`cannot start a fake-time redis-server: ${unavailable}`);
  const dir = mkdtempSync(join(tmpdir(), 'tbf-faketime-'));
  const file = join(dir, 'now');
  const setTime = (ms: number): void => {
    writeFileSync(`${file}.next`, fakeTimeLine(ms));
    renameSync(`${file}.next`, file);
  };
  setTime(0);
  const launched = await launchRedis({
    ...process.env,
    TZ: 'UTC',
    LD_PRELOAD: FAKETIME_LIBRARIES.join(':'),
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });
  return {
    url: launched.url,
    get pid() {
      return launched.pid;
    },
    setTime,
    async stop() {
      await launched.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
